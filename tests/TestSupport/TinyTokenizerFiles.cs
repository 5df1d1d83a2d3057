using System.Text.Json.Nodes;

namespace Condensa.TestSupport;

/// <summary>
/// Writes a tiny byte-level BPE tokenizer (Hugging Face tokenizer.json + tokenizer_config.json) for tests
/// that build small random checkpoints: ids 0 &lt;unk&gt;, 1 &lt;s&gt; (BOS), 2 &lt;/s&gt; (EOS), then the 256 byte
/// tokens (3..258), then 23 merges, 282 ids in all. Any text encodes (every byte has a token) and
/// Condensa.Tokenization's TokenizerFactory.FromCheckpoint loads it; the chat template is Zephyr's.
/// </summary>
public static class TinyTokenizerFiles
{
    /// <summary>Id of &lt;s&gt;, prepended when encoding.</summary>
    public const int BosTokenId = 1;

    /// <summary>Id of &lt;/s&gt;, which ends generation.</summary>
    public const int EosTokenId = 2;

    /// <summary>Number of ids (specials, bytes and merges).</summary>
    public const int VocabSize = 3 + 256 + 23;

    private static readonly (string Left, string Right)[] Merges =
    [
        ("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("i", "n"), ("e", "r"), ("a", "n"), ("o", "n"), ("r", "e"),
        ("Ġ", "a"), ("Ġ", "s"), ("e", "s"), ("o", "r"), ("a", "t"), ("e", "n"), ("Ġ", "Ġ"), ("ĠĠ", "ĠĠ"),
        ("i", "s"), ("Ġ", "w"), ("Ġ", "o"), ("Ġ", "i"), ("in", "g"), ("e", "d"), ("Ċ", "Ċ"),
    ];

    private const string ZephyrTemplate =
        "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\n' + message['content'] + eos_token }}\n" +
        "{% elif message['role'] == 'system' %}\n{{ '<|system|>\n' + message['content'] + eos_token }}\n" +
        "{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n{% endif %}\n" +
        "{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}";

    /// <summary>Writes tokenizer.json and tokenizer_config.json into <paramref name="dir"/> (created if needed).</summary>
    public static void Write(string dir)
    {
        ArgumentException.ThrowIfNullOrEmpty(dir);
        Directory.CreateDirectory(dir);

        // 1) vocabulary: byte tokens in GPT-2's byte-to-character table, then merge results
        var vocab = new JsonObject();
        int next = 3;
        foreach (char c in ByteLevelChars())
            vocab[c.ToString()] = next++;
        var merges = new JsonArray();
        foreach (var (left, right) in Merges)
        {
            vocab[left + right] = next++;
            merges.Add(new JsonArray(left, right));
        }

        // 2) tokenizer.json: Llama 3 style pre-tokenizer regex, BOS added by the post-processor
        string[] specials = ["<unk>", "<s>", "</s>"];
        var added = new JsonArray();
        for (int id = 0; id < specials.Length; id++)
        {
            added.Add(new JsonObject
            {
                ["id"] = id, ["content"] = specials[id], ["single_word"] = false, ["lstrip"] = false,
                ["rstrip"] = false, ["normalized"] = false, ["special"] = true,
            });
        }
        var tokenizer = new JsonObject
        {
            ["version"] = "1.0",
            ["added_tokens"] = added,
            ["normalizer"] = null,
            ["pre_tokenizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["pretokenizers"] = new JsonArray(
                    new JsonObject
                    {
                        ["type"] = "Split",
                        ["pattern"] = new JsonObject
                        {
                            ["Regex"] = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
                        },
                        ["behavior"] = "Isolated",
                        ["invert"] = false,
                    },
                    new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = false, ["use_regex"] = false }),
            },
            ["post_processor"] = new JsonObject
            {
                ["type"] = "TemplateProcessing",
                ["single"] = new JsonArray(
                    new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = "<s>", ["type_id"] = 0 } },
                    new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "A", ["type_id"] = 0 } }),
                ["special_tokens"] = new JsonObject
                {
                    ["<s>"] = new JsonObject { ["id"] = "<s>", ["ids"] = new JsonArray(BosTokenId), ["tokens"] = new JsonArray("<s>") },
                },
            },
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = true, ["use_regex"] = true },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = null,
                ["end_of_word_suffix"] = null, ["fuse_unk"] = false, ["byte_fallback"] = false, ["ignore_merges"] = false,
                ["vocab"] = vocab, ["merges"] = merges,
            },
        };
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), tokenizer.ToJsonString());

        // 3) tokenizer_config.json
        var config = new JsonObject
        {
            ["bos_token"] = "<s>", ["eos_token"] = "</s>", ["unk_token"] = "<unk>", ["pad_token"] = null,
            ["add_bos_token"] = true, ["chat_template"] = ZephyrTemplate, ["tokenizer_class"] = "PreTrainedTokenizerFast",
        };
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), config.ToJsonString());
    }

    /// <summary>GPT-2's byte-to-character table, in byte order.</summary>
    private static IEnumerable<char> ByteLevelChars()
    {
        int shifted = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            yield return printable ? (char)b : (char)shifted++;
        }
    }
}
