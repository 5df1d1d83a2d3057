using System.Text.Json;
using System.Text.Json.Serialization;

namespace Condensa.Export;

/// <summary>Rope facts recorded in condensa.json (RoPE itself is inside the graph).</summary>
/// <param name="Type">"default", "linear" or "llama3".</param>
/// <param name="Theta">Base of the inverse frequencies.</param>
public sealed record ManifestRope(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("theta")] double Theta);

/// <summary>Block quantization of the linear weights recorded in condensa.json (the graph holds MatMulNBits nodes).</summary>
/// <param name="Bits">4 or 8.</param>
/// <param name="BlockSize">Weights per scale along K.</param>
/// <param name="AccuracyLevel">MatMulNBits accuracy_level (4: int8 activations on the CPU provider).</param>
/// <param name="LmHead">Whether lm_head is quantized.</param>
/// <param name="Int4Mix">With 4 bits: the <see cref="Export.Int4Mix"/> that kept some weights at 8 bits ("none", "kv",
/// "kv-head"); absent with 8 bits.</param>
public sealed record ManifestQuantization(
    [property: JsonPropertyName("bits")] int Bits,
    [property: JsonPropertyName("block_size")] int BlockSize,
    [property: JsonPropertyName("accuracy_level")] int AccuracyLevel,
    [property: JsonPropertyName("lm_head")] bool LmHead,
    [property: JsonPropertyName("int4_mix"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Int4Mix = null);

/// <summary>File names of the graphs that edit a device-resident KV cache (<see cref="KvOpsGraphs"/>).</summary>
/// <param name="Write">Gathers entries from a source and scatters them into the cache, every layer in one run.</param>
/// <param name="Zeros">Fills a fresh buffer with zeros.</param>
/// <param name="Copy">Copies one tensor into another buffer.</param>
public sealed record ManifestKvOps(
    [property: JsonPropertyName("write")] string Write,
    [property: JsonPropertyName("zeros")] string Zeros,
    [property: JsonPropertyName("copy")] string Copy);

/// <summary>
/// condensa.json, written beside the graph (schema in docs/ARCHITECTURE.md). Runtime reads it with its own
/// type; the two meet only in this file.
/// </summary>
public sealed record CondensaManifest
{
    /// <summary>The manifest file name.</summary>
    public const string FileName = "condensa.json";

    /// <summary>Schema version.</summary>
    [JsonPropertyName("format")] public int Format { get; init; } = 1;
    /// <summary>config.json's architecture, e.g. "LlamaForCausalLM".</summary>
    [JsonPropertyName("architecture")] public required string Architecture { get; init; }
    /// <summary>"float32" or "float16": the dtype of weights and of past/new KV.</summary>
    [JsonPropertyName("dtype")] public required string Dtype { get; init; }
    /// <summary>V.</summary>
    [JsonPropertyName("vocab_size")] public required int VocabSize { get; init; }
    /// <summary>H.</summary>
    [JsonPropertyName("hidden_size")] public required int HiddenSize { get; init; }
    /// <summary>Decoder layers.</summary>
    [JsonPropertyName("num_layers")] public required int NumLayers { get; init; }
    /// <summary>Query heads.</summary>
    [JsonPropertyName("num_heads")] public required int NumHeads { get; init; }
    /// <summary>KV heads (Hkv).</summary>
    [JsonPropertyName("num_kv_heads")] public required int NumKvHeads { get; init; }
    /// <summary>D.</summary>
    [JsonPropertyName("head_dim")] public required int HeadDim { get; init; }
    /// <summary>max_position_embeddings.</summary>
    [JsonPropertyName("max_context")] public required int MaxContext { get; init; }
    /// <summary>Sliding window the host must apply in its masks, or null.</summary>
    [JsonPropertyName("sliding_window")] public int? SlidingWindow { get; init; }
    /// <summary>Layers that store KV (graph inputs past.{l}.* exist for these only).</summary>
    [JsonPropertyName("kv_layers")] public required IReadOnlyList<int> KvLayers { get; init; }
    /// <summary>Entry i: the stored layer that layer i attends to.</summary>
    [JsonPropertyName("layer_kv_source")] public required IReadOnlyList<int> LayerKvSource { get; init; }
    /// <summary>Layer-condensed models: forward_passes of config.json (prefill iterates forward + backward passes), else null.</summary>
    [JsonPropertyName("forward_passes")] public int? ForwardPasses { get; init; }
    /// <summary>Layer-condensed models: backward_passes of config.json, else null.</summary>
    [JsonPropertyName("backward_passes")] public int? BackwardPasses { get; init; }
    /// <summary>Layer-condensed models: no layer attends to its own position (applied in the graph).</summary>
    [JsonPropertyName("force_nodiag")] public bool ForceNodiag { get; init; }
    /// <summary>Layer-condensed models: prefill one token per pass (config.json <c>use_sequential</c>); absent when false.</summary>
    [JsonPropertyName("use_sequential"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public bool UseSequential { get; init; }
    /// <summary>Entry i: layer i's sliding window, applied in the graph (unlike <see cref="SlidingWindow"/>), or null
    /// for full attention; the list itself is null when no layer slides.</summary>
    [JsonPropertyName("layer_sliding_window")] public IReadOnlyList<int?>? LayerSlidingWindow { get; init; }
    /// <summary>Rope settings.</summary>
    [JsonPropertyName("rope")] public required ManifestRope Rope { get; init; }
    /// <summary>Block quantization of the linear weights, or null when they are stored in <see cref="Dtype"/>.</summary>
    [JsonPropertyName("weight_quantization")] public ManifestQuantization? WeightQuantization { get; init; }
    /// <summary>Beginning-of-sequence token, if any.</summary>
    [JsonPropertyName("bos_token_id")] public int? BosTokenId { get; init; }
    /// <summary>Tokens that end generation.</summary>
    [JsonPropertyName("eos_token_ids")] public required IReadOnlyList<int> EosTokenIds { get; init; }
    /// <summary>Tokenizer and generation files copied beside the graph.</summary>
    [JsonPropertyName("tokenizer_files")] public required IReadOnlyList<string> TokenizerFiles { get; init; }
    /// <summary>The graph file name.</summary>
    [JsonPropertyName("graph")] public string Graph { get; init; } = "model.onnx";
    /// <summary>The causal graph (GroupQueryAttention, no attention_bias) over the same weights, or null where the
    /// architecture has none.</summary>
    [JsonPropertyName("causal_graph"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? CausalGraph { get; init; }
    /// <summary>The graphs that edit a device-resident KV cache (<see cref="KvOpsGraphs"/>).</summary>
    [JsonPropertyName("kv_ops")] public ManifestKvOps? KvOps { get; init; }
    /// <summary><see cref="CheckpointFingerprint.Compute"/> of the source checkpoint.</summary>
    [JsonPropertyName("checkpoint_fingerprint")] public required string CheckpointFingerprint { get; init; }
    /// <summary>Bumped when the exporter's output changes for the same checkpoint (invalidates caches).</summary>
    [JsonPropertyName("exporter_version")] public int ExporterVersion { get; init; } = CheckpointExporter.Version;

    private static readonly JsonSerializerOptions Options = new() { WriteIndented = true };

    /// <summary>Serialises the manifest as indented JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Options);

    /// <summary>Reads a condensa.json.</summary>
    /// <exception cref="ExportException">The file is missing or not a manifest.</exception>
    public static CondensaManifest Load(string path)
    {
        if (!File.Exists(path)) throw new ExportException($"Missing manifest '{path}'.");
        try
        {
            return JsonSerializer.Deserialize<CondensaManifest>(File.ReadAllText(path), Options)
                ?? throw new ExportException($"'{path}' is empty.");
        }
        catch (JsonException e)
        {
            throw new ExportException($"'{path}' is not a valid condensa.json: {e.Message}", e);
        }
    }
}
