using System.Text.Json;
using System.Text.Json.Serialization;

namespace Condensa.Runtime;

/// <summary>
/// The facts the exporter wrote beside a graph (condensa.json): dimensions, which layers store KV,
/// rope settings, special tokens and file names. The runtime reads everything about a model from here.
/// </summary>
public sealed record ModelManifest
{
    /// <summary>File name of the manifest inside an export folder.</summary>
    public const string FileName = "condensa.json";

    [JsonPropertyName("format")] public int Format { get; init; }
    [JsonPropertyName("architecture")] public string Architecture { get; init; } = "";
    [JsonPropertyName("dtype")] public string DType { get; init; } = "float32";
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; }
    [JsonPropertyName("hidden_size")] public int HiddenSize { get; init; }
    [JsonPropertyName("num_layers")] public int NumLayers { get; init; }
    [JsonPropertyName("num_heads")] public int NumHeads { get; init; }
    [JsonPropertyName("num_kv_heads")] public int NumKvHeads { get; init; }
    [JsonPropertyName("head_dim")] public int HeadDim { get; init; }
    [JsonPropertyName("max_context")] public int MaxContext { get; init; }
    [JsonPropertyName("sliding_window")] public int? SlidingWindow { get; init; }
    [JsonPropertyName("kv_layers")] public int[] KvLayers { get; init; } = [];
    [JsonPropertyName("layer_kv_source")] public int[] LayerKvSource { get; init; } = [];
    [JsonPropertyName("forward_passes")] public int? ForwardPasses { get; init; }
    [JsonPropertyName("backward_passes")] public int? BackwardPasses { get; init; }
    [JsonPropertyName("force_nodiag")] public bool ForceNodiag { get; init; }
    /// <summary>Layer-condensed models: prompts go one token per pass (config.json use_sequential).</summary>
    [JsonPropertyName("use_sequential")] public bool UseSequential { get; init; }
    /// <summary>Entry i: layer i's sliding window, applied inside the graph (layer-condensed models), or null.</summary>
    [JsonPropertyName("layer_sliding_window")] public int?[]? LayerSlidingWindow { get; init; }
    [JsonPropertyName("bos_token_id")] public int? BosTokenId { get; init; }
    [JsonPropertyName("eos_token_ids")] public int[] EosTokenIds { get; init; } = [];
    [JsonPropertyName("tokenizer_files")] public string[] TokenizerFiles { get; init; } = [];
    [JsonPropertyName("graph")] public string Graph { get; init; } = "model.onnx";
    /// <summary>The causal graph over the same weights (GroupQueryAttention, no attention_bias), or null where the export
    /// has none (layer-condensed models, sliding windows, exports before version 6).</summary>
    [JsonPropertyName("causal_graph")] public string? CausalGraph { get; init; }
    /// <summary>The graphs that edit a device-resident KV cache; null in exports made before them.</summary>
    [JsonPropertyName("kv_ops")] public KvOpsFiles? KvOps { get; init; }
    [JsonPropertyName("checkpoint_fingerprint")] public string? CheckpointFingerprint { get; init; }
    [JsonPropertyName("exporter_version")] public int ExporterVersion { get; init; }

    /// <summary>Whether the graphs have the greedy_tokens output (exporter 7 on): each selected position's argmax token,
    /// computed where the logits are.</summary>
    [JsonIgnore] public bool HasGreedyTokens => ExporterVersion >= 7;

    /// <summary>Pending layers, cyclic blocks and passes of a layer-condensed model (nothing for a standard one);
    /// derived on each call, so callers on a hot path keep the result.</summary>
    [JsonIgnore] public LayerCondensation Condensation => LayerCondensation.Of(this);

    /// <summary>Element type of the KV buffers.</summary>
    [JsonIgnore] public KvDataType KvType => KvDataTypeExtensions.Parse(DType, FileName);

    /// <summary>KV bytes one token costs across all stored layers (keys and values).</summary>
    [JsonIgnore] public long KvBytesPerToken => 2L * KvLayers.Length * NumKvHeads * HeadDim * KvType.SizeInBytes();

    /// <summary>KV bytes one token would cost if every layer stored its own KV (the standard architecture).</summary>
    [JsonIgnore] public long StandardKvBytesPerToken => 2L * NumLayers * NumKvHeads * HeadDim * KvType.SizeInBytes();

    /// <summary>Reads and checks <c>condensa.json</c> in an export folder.</summary>
    public static ModelManifest Load(string exportDir)
    {
        ArgumentNullException.ThrowIfNull(exportDir);
        var path = Path.Combine(exportDir, FileName);
        if (!File.Exists(path))
            throw new CondensaException($"{path}: not found; '{exportDir}' is not a Condensa export (run 'condensa export' first).");
        ModelManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<ModelManifest>(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new CondensaException($"{path}: malformed JSON ({e.Message}).", e);
        }
        if (manifest is null) throw new CondensaException($"{path}: empty manifest.");
        manifest.Validate(path);
        return manifest;
    }

    private void Validate(string path)
    {
        Require(Format == 1, "format", Format, path);
        Require(VocabSize > 0, "vocab_size", VocabSize, path);
        Require(NumLayers > 0, "num_layers", NumLayers, path);
        Require(NumKvHeads > 0 && NumHeads % NumKvHeads == 0, "num_kv_heads", NumKvHeads, path);
        Require(HeadDim > 0, "head_dim", HeadDim, path);
        Require(MaxContext > 0, "max_context", MaxContext, path);
        Require(KvLayers.Length > 0 && KvLayers.All(l => l >= 0 && l < NumLayers), "kv_layers", string.Join(",", KvLayers), path);
        Require(LayerKvSource.Length == NumLayers && LayerKvSource.All(KvLayers.Contains), "layer_kv_source",
            string.Join(",", LayerKvSource), path);
        Require(ForwardPasses is null or >= 0, "forward_passes", ForwardPasses!, path);
        Require(BackwardPasses is null or >= 0, "backward_passes", BackwardPasses!, path);
        Require(LayerSlidingWindow is null || (LayerSlidingWindow.Length == NumLayers && LayerSlidingWindow.All(w => w is null or > 0)),
            "layer_sliding_window", string.Join(",", LayerSlidingWindow ?? []), path);
        _ = KvType;
    }

    private static void Require(bool ok, string field, object value, string path)
    {
        if (!ok) throw new CondensaException($"{path}: field '{field}' has invalid value '{value}'.");
    }
}

/// <summary>File names of the KV-edit graphs in an export folder (condensa.json "kv_ops").</summary>
/// <param name="Write">Gathers entries of a source and scatters them into a cache, every layer in one run.</param>
/// <param name="Zeros">Fills a buffer with zeros.</param>
/// <param name="Copy">Copies one tensor into another buffer.</param>
public sealed record KvOpsFiles(
    [property: JsonPropertyName("write")] string Write,
    [property: JsonPropertyName("zeros")] string Zeros,
    [property: JsonPropertyName("copy")] string Copy);
