using System.Text.Json;
using System.Text.Json.Nodes;

namespace Condensa.Tokenization;

/// <summary>
/// The JSON side files of a checkpoint folder that tokenization reads: tokenizer_config.json,
/// generation_config.json and config.json. Each is optional; a malformed one is an error naming it.
/// </summary>
internal sealed class CheckpointFiles
{
    public const string TokenizerConfigFile = "tokenizer_config.json";
    public const string GenerationConfigFile = "generation_config.json";
    public const string ModelConfigFile = "config.json";

    private CheckpointFiles(string dir, JsonObject? tokenizerConfig, JsonObject? generationConfig, JsonObject? modelConfig)
    {
        Directory = dir;
        TokenizerConfig = tokenizerConfig;
        GenerationConfig = generationConfig;
        ModelConfig = modelConfig;
    }

    public string Directory { get; }

    public JsonObject? TokenizerConfig { get; }

    public JsonObject? GenerationConfig { get; }

    public JsonObject? ModelConfig { get; }

    public static CheckpointFiles Read(string dir) => new(
        dir,
        ReadObject(dir, TokenizerConfigFile),
        ReadObject(dir, GenerationConfigFile),
        ReadObject(dir, ModelConfigFile));

    /// <summary>The JSON object in dir/file, null when the file does not exist.</summary>
    public static JsonObject? ReadObject(string dir, string file)
    {
        string path = SharedTokenizer.Find(dir, file);
        if (!File.Exists(path))
            return null;
        try
        {
            return JsonNode.Parse(File.ReadAllText(path), documentOptions: new JsonDocumentOptions { AllowTrailingCommas = true }) as JsonObject
                ?? throw new TokenizerLoadException($"{path}: expected a JSON object at the top level.");
        }
        catch (JsonException e)
        {
            throw new TokenizerLoadException($"{path}: malformed JSON ({e.Message}).", e);
        }
    }

    /// <summary>Whether tokenizer_config.json names the token at all (a null value counts: "bos_token": null).</summary>
    public bool HasTokenizerConfigKey(string key) => TokenizerConfig?.ContainsKey(key) == true;

    /// <summary>A token string of tokenizer_config.json: "bos_token": "&lt;s&gt;" or {"content": "&lt;s&gt;", ...}.</summary>
    public string? TokenString(string key) => TokenizerConfig?[key] switch
    {
        JsonValue v when v.TryGetValue(out string? s) => s,
        JsonObject o when o["content"] is JsonValue c && c.TryGetValue(out string? s) => s,
        _ => null,
    };

    /// <summary>A boolean of tokenizer_config.json, null when absent.</summary>
    public bool? TokenizerFlag(string key) =>
        TokenizerConfig?[key] is JsonValue v && v.TryGetValue(out bool b) ? b : null;

    /// <summary>The chat template of tokenizer_config.json: a string, or the "default" of a named list.</summary>
    public string? ChatTemplateSource => TokenizerConfig?["chat_template"] switch
    {
        JsonValue v when v.TryGetValue(out string? s) => s,
        JsonArray a => a.OfType<JsonObject>()
            .FirstOrDefault(o => (string?)o["name"] == "default")?["template"]?.GetValue<string>(),
        _ => null,
    };

    /// <summary>architectures[0] of config.json.</summary>
    public string? Architecture => ModelConfig?["architectures"] is JsonArray a && a.Count > 0 ? (string?)a[0] : null;

    /// <summary>tokenizer_config.json's added_tokens_decoder: id, content and whether the token is special.</summary>
    public IReadOnlyList<AddedToken> AddedTokens()
    {
        var list = new List<AddedToken>();
        if (TokenizerConfig?["added_tokens_decoder"] is not JsonObject decoder)
            return list;
        foreach (var (key, node) in decoder)
        {
            if (!int.TryParse(key, out int id) || node?["content"] is not JsonValue content || !content.TryGetValue(out string? text))
                throw new TokenizerLoadException($"{Path.Combine(Directory, TokenizerConfigFile)}: added_tokens_decoder entry '{key}' needs an integer key and a \"content\" string.");
            bool special = node["special"] is not JsonValue s || !s.TryGetValue(out bool flag) || flag;
            list.Add(new AddedToken(id, text, special));
        }
        return list;
    }

    /// <summary>
    /// A token id named in generation_config.json first, then config.json (int or list), e.g. eos_token_id.
    /// </summary>
    public IReadOnlyList<int> IdsFromConfigs(string key)
    {
        var ids = new List<int>();
        foreach (var config in new[] { GenerationConfig, ModelConfig })
        {
            switch (config?[key])
            {
                case JsonValue v when v.TryGetValue(out int id):
                    ids.Add(id);
                    break;
                case JsonArray a:
                    ids.AddRange(a.OfType<JsonValue>().Select(x => x.TryGetValue(out int i) ? i : -1).Where(i => i >= 0));
                    break;
            }
            if (ids.Count > 0)
                break;
        }
        return ids;
    }
}

/// <summary>A token matched as a whole in text before the model runs (HF "added token"); special ones can be skipped in decoding.</summary>
internal readonly record struct AddedToken(int Id, string Content, bool Special);
