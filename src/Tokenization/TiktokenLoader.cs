using System.Text;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace Condensa.Tokenization;

/// <summary>
/// Loads a tiktoken BPE file (lines "base64-bytes rank", as Llama 3's original/tokenizer.model and *.tiktoken
/// files hold). The file carries no split regex: tokenizer_config.json's "pat_str" is used where present,
/// else Llama 3's. Special tokens come from tokenizer_config.json's added_tokens_decoder.
/// </summary>
internal static class TiktokenLoader
{
    /// <summary>The split regex of Llama 3 (cl100k_base's, with 1-3 digit groups).</summary>
    public const string Llama3Pattern =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>Whether the file starts like a tiktoken file: "base64 rank" on its first line.</summary>
    public static bool LooksLikeTiktoken(string path)
    {
        using var stream = File.OpenRead(path);
        var head = new byte[256];
        int n = stream.Read(head);
        string text = Encoding.ASCII.GetString(head, 0, n);
        int newline = text.IndexOf('\n');
        string first = newline >= 0 ? text[..newline] : text;
        return Regex.IsMatch(first, @"^[A-Za-z0-9+/=]+ \d+\r?$");
    }

    public static LoadedModel Load(string path, CheckpointFiles files)
    {
        // 1) ranks: line i is "base64 rank"
        var ranks = new Dictionary<int, byte[]>();
        var tokenIds = new Dictionary<string, int>();
        int lineNumber = 0;
        foreach (string line in File.ReadLines(path))
        {
            lineNumber++;
            if (line.Length == 0)
                continue;
            int space = line.IndexOf(' ');
            byte[] bytes;
            int rank;
            try
            {
                if (space <= 0 || !int.TryParse(line.AsSpan(space + 1), out rank))
                    throw new FormatException("expected \"base64 rank\"");
                bytes = Convert.FromBase64String(line[..space]);
            }
            catch (FormatException e)
            {
                throw new TokenizerLoadException($"{path}: line {lineNumber} is not a tiktoken entry ({e.Message}).", e);
            }
            ranks[rank] = bytes;
            tokenIds.TryAdd(Encoding.UTF8.GetString(bytes), rank);
        }
        if (ranks.Count == 0)
            throw new TokenizerLoadException($"{path}: no tiktoken entries.");

        // 2) special tokens and the split regex from tokenizer_config.json
        var added = files.AddedTokens().ToList();
        var specialTokens = added.ToDictionary(t => t.Content, t => t.Id);
        string pattern = (string?)files.TokenizerConfig?["pat_str"] ?? Llama3Pattern;
        Tokenizer inner;
        try
        {
            var regex = new Regex(pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant);
            using var stream = File.OpenRead(path);
            inner = TiktokenTokenizer.Create(stream, new RegexPreTokenizer(regex, specialTokens), normalizer: null,
                                             specialTokens: specialTokens);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException)
        {
            throw new TokenizerLoadException($"{path}: Microsoft.ML.Tokenizers cannot load this tiktoken file: {e.Message}", e);
        }

        // 3) decode table
        int vocabSize = Math.Max(ranks.Keys.Max() + 1, added.Count == 0 ? 0 : added.Max(t => t.Id) + 1);
        var table = new byte[]?[vocabSize];
        var special = new bool[vocabSize];
        foreach (var (rank, bytes) in ranks)
            table[rank] = bytes;
        foreach (var token in added)
        {
            table[token.Id] = Encoding.UTF8.GetBytes(token.Content);
            special[token.Id] = token.Special;
        }

        int? Lookup(string token) =>
            specialTokens.TryGetValue(token, out int a) ? a : tokenIds.TryGetValue(token, out int r) ? r : null;

        return new LoadedModel(inner, (text, _) => inner.EncodeToIds(text), added, new TokenByteTable(table, special, leadingMarker: null), Lookup,
                               AddsBosByDefault: true, ModelBos: null, ModelEos: null, Format: "tiktoken");
    }
}
