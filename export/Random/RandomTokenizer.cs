using System.Text.Json;
using System.Text.Json.Nodes;

namespace Condensa.Export;

/// <summary>
/// A tokenizer for a random checkpoint, so that <c>generate</c> and <c>perplexity</c> run on it as on a real one: a
/// byte-level BPE tokenizer.json (GPT-2's byte alphabet, no merges, so text encodes byte by byte) whose vocabulary
/// covers every id the model can emit: the shape's BOS and EOS as special tokens, the 256 bytes, and filler tokens
/// ("&lt;filler_N&gt;", plain ASCII, so they decode as themselves) up to the vocabulary size.
/// </summary>
public static class RandomTokenizer
{
    /// <summary>The smallest vocabulary that holds the two special tokens and the 256 bytes.</summary>
    public const int MinimumVocabulary = 258;

    /// <summary>Writes tokenizer.json and tokenizer_config.json into <paramref name="dir"/>; false (nothing written) when
    /// the shape's vocabulary is smaller than <see cref="MinimumVocabulary"/>.</summary>
    public static bool Write(string dir, ModelShape shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (shape.VocabSize < MinimumVocabulary) return false;
        var (bos, eos) = shape.SpecialTokens;
        const string bosText = "<s>", eosText = "</s>";

        // 1) ids: the special tokens where the config puts them, the bytes and fillers in the remaining ids, in order
        var vocab = new JsonObject();
        var bytes = ByteAlphabet();
        var next = 0;
        int NextFree() { while (next == bos || next == eos) next++; return next++; }
        foreach (var symbol in bytes) vocab[symbol] = NextFree();
        vocab[bosText] = bos;
        vocab[eosText] = eos;
        while (vocab.Count < shape.VocabSize) { var id = NextFree(); vocab[$"<filler_{id}>"] = id; }

        // 2) tokenizer.json: a byte-level BPE without merges, and the two special tokens
        JsonObject Special(int id, string content) => new()
        {
            ["id"] = id, ["content"] = content, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false,
            ["normalized"] = false, ["special"] = true,
        };
        var tokenizer = new JsonObject
        {
            ["version"] = "1.0",
            ["added_tokens"] = new JsonArray(Special(bos, bosText), Special(eos, eosText)),
            ["normalizer"] = null,
            ["pre_tokenizer"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true },
            ["post_processor"] = null,
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = null,
                ["end_of_word_suffix"] = null, ["fuse_unk"] = false, ["byte_fallback"] = false, ["vocab"] = vocab, ["merges"] = new JsonArray(),
            },
        };
        var options = new JsonSerializerOptions { WriteIndented = false };
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), tokenizer.ToJsonString(options));
        var config = new JsonObject { ["bos_token"] = bosText, ["eos_token"] = eosText, ["add_bos_token"] = true, ["model_max_length"] = shape.MaxContext };
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), config.ToJsonString(options));
        return true;
    }

    // GPT-2's byte-to-symbol map: printable Latin-1 bytes stand for themselves, the other 68 take code points from 256 up.
    private static string[] ByteAlphabet()
    {
        var symbols = new string[256];
        var shifted = 0;
        for (var b = 0; b < 256; b++)
        {
            var printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            symbols[b] = char.ConvertFromUtf32(printable ? b : 256 + shifted++);
        }
        return symbols;
    }
}
