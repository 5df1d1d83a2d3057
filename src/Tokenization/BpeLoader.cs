using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace Condensa.Tokenization;

/// <summary>
/// Loads byte-level BPE tokenizers (GPT-2, Llama 3, Qwen2): a Hugging Face tokenizer.json whose model is BPE,
/// or the older vocab.json + merges.txt pair. The vocabulary, merges, pre-tokenizer regex and added tokens
/// become a Microsoft.ML.Tokenizers <see cref="BpeTokenizer"/>.
/// </summary>
internal static class BpeLoader
{
    /// <summary>The regex of the ByteLevel pre-tokenizer with use_regex (GPT-2).</summary>
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    /// <summary>
    /// The tokenizer.json's model, or null where the file describes a model that tokenizer.model should load
    /// instead (a SentencePiece conversion) and that file exists.
    /// </summary>
    public static LoadedModel? LoadTokenizerJson(string path, CheckpointFiles files, bool sentencePieceAvailable)
    {
        JsonObject root = CheckpointFiles.ReadObject(Path.GetDirectoryName(path)!, Path.GetFileName(path))!;
        if (root["model"] is not JsonObject model)
            throw new TokenizerLoadException($"{path}: no \"model\" object.");
        string type = (string?)model["type"] ?? (model.ContainsKey("merges") ? "BPE" : "(missing)");
        if (type != "BPE")
        {
            if (sentencePieceAvailable)
                return null;
            throw new TokenizerLoadException($"{path}: unsupported tokenizer model type '{type}' (model.type); " +
                                             "supported: BPE here, SentencePiece in tokenizer.model, tiktoken.");
        }

        // 1) pre-tokenizer: the split regex, and whether tokens are byte-level
        var (pattern, byteLevel) = ReadPreTokenizer(root["pre_tokenizer"], path);
        if (!byteLevel)
        {
            if (sentencePieceAvailable)
                return null;
            throw new TokenizerLoadException($"{path}: a BPE model without a ByteLevel pre-tokenizer (a SentencePiece conversion) " +
                                             "is not supported from tokenizer.json; put its tokenizer.model beside it.");
        }
        if (model["byte_fallback"] is JsonValue fb && fb.TryGetValue(out bool byteFallback) && byteFallback)
            throw new TokenizerLoadException($"{path}: model.byte_fallback with a ByteLevel pre-tokenizer is not supported.");

        // 2) normalizer
        Normalizer? normalizer = ReadNormalizer(root["normalizer"], path);

        // 3) vocabulary and merges (strings "a b" or arrays ["a", "b"])
        if (model["vocab"] is not JsonObject vocabNode)
            throw new TokenizerLoadException($"{path}: model.vocab must be an object of token -> id.");
        var vocab = new Dictionary<string, int>(vocabNode.Count);
        foreach (var (token, id) in vocabNode)
            vocab[token] = id is JsonValue v && v.TryGetValue(out int i) ? i : throw new TokenizerLoadException($"{path}: model.vocab['{token}'] is not an integer id.");
        var merges = new List<string>();
        if (model["merges"] is JsonArray mergeArray)
        {
            foreach (var merge in mergeArray)
                merges.Add(merge switch
                {
                    JsonValue s when s.TryGetValue(out string? text) => text,
                    JsonArray { Count: 2 } pair when (string?)pair[0] is { } a && (string?)pair[1] is { } b
                        => a.Contains(' ') || b.Contains(' ')
                            ? throw new TokenizerLoadException($"{path}: model.merges entry [\"{a}\", \"{b}\"] holds a space, which Microsoft.ML.Tokenizers cannot represent.")
                            : a + " " + b,
                    _ => throw new TokenizerLoadException($"{path}: model.merges entries must be \"a b\" strings or [a, b] arrays."),
                });
        }

        // 4) added tokens, with tokenizer_config.json's entries where the file has none
        var added = new Dictionary<int, AddedToken>();
        if (root["added_tokens"] is JsonArray addedArray)
        {
            foreach (var node in addedArray)
            {
                if (node?["id"] is not JsonValue idv || !idv.TryGetValue(out int id) || (string?)node["content"] is not { } content)
                    throw new TokenizerLoadException($"{path}: added_tokens entries need \"id\" and \"content\".");
                bool special = node["special"] is JsonValue sv && sv.TryGetValue(out bool sp) && sp;
                added[id] = new AddedToken(id, content, special);
            }
        }
        foreach (var token in files.AddedTokens())
            added.TryAdd(token.Id, token);

        bool addsBos = PostProcessorAddsBos(root["post_processor"], files.TokenString("bos_token"));
        return Build(vocab, merges, pattern, normalizer, added.Values.ToList(), addsBos, "tokenizer.json", path);
    }

    /// <summary>GPT-2 style vocab.json + merges.txt, split with the GPT-2 regex; added tokens from tokenizer_config.json.</summary>
    public static LoadedModel LoadVocabMerges(string vocabPath, string mergesPath, CheckpointFiles files)
    {
        JsonObject vocabNode = CheckpointFiles.ReadObject(Path.GetDirectoryName(vocabPath)!, Path.GetFileName(vocabPath))!;
        var vocab = new Dictionary<string, int>(vocabNode.Count);
        foreach (var (token, id) in vocabNode)
            vocab[token] = id is JsonValue v && v.TryGetValue(out int i) ? i : throw new TokenizerLoadException($"{vocabPath}: entry '{token}' is not an integer id.");
        var merges = new List<string>();
        foreach (string raw in File.ReadLines(mergesPath))
        {
            string line = raw.TrimEnd('\r');
            if (line.Length == 0 || line.StartsWith("#version", StringComparison.Ordinal))
                continue;
            if (line.Split(' ').Length != 2)
                throw new TokenizerLoadException($"{mergesPath}: line '{line}' is not a pair \"a b\".");
            merges.Add(line);
        }
        var added = files.AddedTokens().ToList();
        return Build(vocab, merges, Gpt2Pattern, normalizer: null, added, addsBos: false, "vocab.json+merges.txt", vocabPath);
    }

    private static LoadedModel Build(
        Dictionary<string, int> vocab, List<string> merges, string pattern, Normalizer? normalizer,
        List<AddedToken> added, bool addsBos, string format, string path)
    {
        var specialTokens = added.ToDictionary(t => t.Content, t => t.Id);
        Regex regex;
        try
        {
            regex = new Regex(pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant);
        }
        catch (ArgumentException e)
        {
            throw new TokenizerLoadException($"{path}: the pre-tokenizer regex is not valid for .NET ({e.Message}).", e);
        }

        BpeTokenizer bpe;
        try
        {
            bpe = BpeTokenizer.Create(new BpeOptions(vocab)
            {
                Merges = merges,
                PreTokenizer = new RegexPreTokenizer(regex, specialTokens),
                Normalizer = normalizer,
                SpecialTokens = specialTokens,
                ByteLevel = true,
            });
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or KeyNotFoundException)
        {
            throw new TokenizerLoadException($"{path}: Microsoft.ML.Tokenizers rejected the BPE model: {e.Message}", e);
        }
        // model.ignore_merges (Llama 3) is not applied: Microsoft.ML.Tokenizers has no such option. A trained
        // vocabulary's whole-word tokens are normally reached by its merges too (the llama3_bpe golden table,
        // ignore_merges: true, matches); a token its merges cannot build would encode differently.
        Tokenizer inner = bpe;

        int vocabSize = Math.Max(vocab.Count == 0 ? 0 : vocab.Values.Max() + 1, added.Count == 0 ? 0 : added.Max(t => t.Id) + 1);
        var bytes = new byte[]?[vocabSize];
        var special = new bool[vocabSize];
        foreach (var (token, id) in vocab)
            bytes[id] = ByteLevelAlphabet.ToBytes(token) ?? Encoding.UTF8.GetBytes(token);
        foreach (var token in added)
        {
            bytes[token.Id] = Encoding.UTF8.GetBytes(token.Content);
            special[token.Id] = token.Special;
        }

        int? Lookup(string token) =>
            specialTokens.TryGetValue(token, out int a) ? a : vocab.TryGetValue(token, out int v) ? v : null;

        return new LoadedModel(inner, (text, _) => inner.EncodeToIds(text), added, new TokenByteTable(bytes, special, leadingMarker: null), Lookup,
                               addsBos, ModelBos: null, ModelEos: null, format);
    }

    private static (string Pattern, bool ByteLevel) ReadPreTokenizer(JsonNode? node, string path)
    {
        string? pattern = null;
        bool byteLevel = false;
        void Visit(JsonNode? n)
        {
            switch ((string?)n?["type"])
            {
                case null:
                    return;
                case "Sequence":
                    foreach (var child in n!["pretokenizers"] as JsonArray ?? [])
                        Visit(child);
                    return;
                case "ByteLevel":
                    byteLevel = true;
                    if (n!["add_prefix_space"] is JsonValue aps && aps.TryGetValue(out bool prefix) && prefix)
                        throw new TokenizerLoadException($"{path}: pre_tokenizer ByteLevel with add_prefix_space=true is not supported.");
                    if (n["use_regex"] is not JsonValue ur || !ur.TryGetValue(out bool useRegex) || useRegex)
                        pattern ??= Gpt2Pattern;
                    return;
                case "Split":
                    if ((string?)n!["behavior"] is { } behavior && behavior != "Isolated")
                        throw new TokenizerLoadException($"{path}: pre_tokenizer Split with behavior '{behavior}' is not supported (only Isolated).");
                    pattern = (string?)n["pattern"]?["Regex"] ?? Regex.Escape((string?)n["pattern"]?["String"] ?? "");
                    return;
                case "Metaspace":
                    // A SentencePiece conversion: not byte-level, so the caller loads tokenizer.model instead.
                    return;
                case "Digits" when n!["individual_digits"] is JsonValue d && d.TryGetValue(out bool individual) && individual:
                    throw new TokenizerLoadException($"{path}: pre_tokenizer Digits is not supported.");
                case var other:
                    throw new TokenizerLoadException($"{path}: pre_tokenizer type '{other}' is not supported.");
            }
        }
        Visit(node);
        return (pattern ?? Gpt2Pattern, byteLevel);
    }

    private static Normalizer? ReadNormalizer(JsonNode? node, string path)
    {
        switch ((string?)node?["type"])
        {
            case null:
                return null;
            case "NFC":
                return NfcNormalizer.Instance;
            case "Sequence" when node!["normalizers"] is JsonArray { Count: 0 }:
                return null;
            case "Sequence" when node!["normalizers"] is JsonArray { Count: 1 } one:
                return ReadNormalizer(one[0], path);
            case var other:
                throw new TokenizerLoadException($"{path}: normalizer type '{other}' is not supported (null or NFC).");
        }
    }

    /// <summary>Whether the TemplateProcessing post-processor opens a single sequence with the BOS token.</summary>
    private static bool PostProcessorAddsBos(JsonNode? node, string? bosToken)
    {
        switch ((string?)node?["type"])
        {
            case "Sequence":
                return (node!["processors"] as JsonArray ?? []).Any(p => PostProcessorAddsBos(p, bosToken));
            case "TemplateProcessing":
                string? first = (string?)(node!["single"] as JsonArray)?.FirstOrDefault()?["SpecialToken"]?["id"];
                return first is not null && (bosToken is null || first == bosToken);
            default:
                return false;
        }
    }
}
