using System.Text.Json;
using System.Text.Json.Serialization;

namespace Condensa;

/// <summary>
/// condensa.json, the facts the exporter writes beside a graph (schema in docs/ARCHITECTURE.md): dimensions, which layers
/// store KV, rope settings, special tokens and file names. The exporter writes this record and the runtime reads it back,
/// so the two cannot drift apart; the runtime reads everything about a model from here.
/// </summary>
/// <remarks>Properties are serialised in declaration order: moving one changes every export's condensa.json.</remarks>
public sealed record ModelManifest
{
    /// <summary>File name of the manifest inside an export folder.</summary>
    public const string FileName = "condensa.json";

    /// <summary>The schema version this record reads and writes.</summary>
    public const int CurrentFormat = 1;

    /// <summary>Schema version (<see cref="CurrentFormat"/>).</summary>
    [JsonPropertyName("format")] public int Format { get; init; }
    /// <summary>config.json's architecture, e.g. "LlamaForCausalLM".</summary>
    [JsonPropertyName("architecture")] public string Architecture { get; init; } = "";
    /// <summary>"float32", "float16" or "bfloat16": the dtype of weights, activations and KV (<see cref="KvType"/>).</summary>
    [JsonPropertyName("dtype")] public string DType { get; init; } = "float32";
    /// <summary>V.</summary>
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; }
    /// <summary>H.</summary>
    [JsonPropertyName("hidden_size")] public int HiddenSize { get; init; }
    /// <summary>Decoder layers.</summary>
    [JsonPropertyName("num_layers")] public int NumLayers { get; init; }
    /// <summary>Query heads.</summary>
    [JsonPropertyName("num_heads")] public int NumHeads { get; init; }
    /// <summary>KV heads (Hkv).</summary>
    [JsonPropertyName("num_kv_heads")] public int NumKvHeads { get; init; }
    /// <summary>D.</summary>
    [JsonPropertyName("head_dim")] public int HeadDim { get; init; }
    /// <summary>The last position + 1 the graph's rotary tables cover.</summary>
    [JsonPropertyName("max_context")] public int MaxContext { get; init; }
    /// <summary>Sliding window the host must apply in its masks, or null.</summary>
    [JsonPropertyName("sliding_window")] public int? SlidingWindow { get; init; }
    /// <summary>Layers that store KV, ascending (graph inputs past.{l}.* exist for these only).</summary>
    [JsonPropertyName("kv_layers")] public int[] KvLayers { get; init; } = [];
    /// <summary>Entry i: the stored layer that layer i attends to (<see cref="LayerCondensation"/>).</summary>
    [JsonPropertyName("layer_kv_source")] public int[] LayerKvSource { get; init; } = [];
    /// <summary>Layer-condensed models: forward_passes of config.json (prefill iterates forward + backward passes), else null.</summary>
    [JsonPropertyName("forward_passes")] public int? ForwardPasses { get; init; }
    /// <summary>Layer-condensed models: backward_passes of config.json, else null.</summary>
    [JsonPropertyName("backward_passes")] public int? BackwardPasses { get; init; }
    /// <summary>Layer-condensed models: no layer attends to its own position (applied in the graph).</summary>
    [JsonPropertyName("force_nodiag")] public bool ForceNodiag { get; init; }
    /// <summary>Layer-condensed models: prompts go one token per pass (config.json <c>use_sequential</c>); absent when false.</summary>
    [JsonPropertyName("use_sequential"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public bool UseSequential { get; init; }
    /// <summary>Entry i: layer i's sliding window, applied inside the graph (unlike <see cref="SlidingWindow"/>), or null
    /// for full attention; the list itself is null when no layer slides.</summary>
    [JsonPropertyName("layer_sliding_window")] public int?[]? LayerSlidingWindow { get; init; }
    /// <summary>Rope settings (RoPE itself is inside the graph).</summary>
    [JsonPropertyName("rope")] public ManifestRope? Rope { get; init; }
    /// <summary>Block quantization of the linear weights, or null when they are stored in <see cref="DType"/>.</summary>
    [JsonPropertyName("weight_quantization")] public ManifestQuantization? WeightQuantization { get; init; }
    /// <summary>Beginning-of-sequence token, if any.</summary>
    [JsonPropertyName("bos_token_id")] public int? BosTokenId { get; init; }
    /// <summary>Tokens that end generation.</summary>
    [JsonPropertyName("eos_token_ids")] public int[] EosTokenIds { get; init; } = [];
    /// <summary>Tokenizer and generation files copied beside the graph.</summary>
    [JsonPropertyName("tokenizer_files")] public string[] TokenizerFiles { get; init; } = [];
    /// <summary>The general graph's file name.</summary>
    [JsonPropertyName("graph")] public string Graph { get; init; } = "model.onnx";
    /// <summary>The causal graph over the same weights (GroupQueryAttention, no attention_bias), or null where the export
    /// has none (layer-condensed models, sliding windows, exports before version 6).</summary>
    [JsonPropertyName("causal_graph"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? CausalGraph { get; init; }
    /// <summary>The multi-row causal graph (the causal graph's inputs and outputs; TensorScatter and Attention, for passes of
    /// several tokens in several rows), or null where the export has none (exports before version 9, per-layer windows,
    /// soft-capping).</summary>
    [JsonPropertyName("causal_rows_graph"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? CausalRowsGraph { get; init; }
    /// <summary>The slots graph (the general graph's inputs and outputs; one Attention node per layer over the cache with
    /// the pass's entries written into their slots, for the passes whose entries all have slots of their own), or null
    /// where the export has none (exports before version 12, per-layer windows, soft-capping, layer-condensed models).</summary>
    [JsonPropertyName("slots_graph"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? SlotsGraph { get; init; }
    /// <summary>The last position + 1 the causal graphs reproduce the checkpoint at where that is short of
    /// <see cref="MaxContext"/>, else null (absent). A longrope export (Phi-3.5, Phi-4-mini) writes its original context:
    /// past it transformers rotates with the long factors, which the general graph switches to and the causal graphs,
    /// whose positions come from seqlens_k, cannot; the runtime sends them passes whose every position is below it.</summary>
    [JsonPropertyName("causal_max_context"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public int? CausalMaxContext { get; init; }
    /// <summary>Rows of the rotary tables past <see cref="MaxContext"/> (and past <see cref="CausalMaxContext"/>, whose
    /// rows a longrope table's long ones follow): positions a causal pass may give its padding entries, which a row near
    /// the context limit writes past it and nothing reads. 0 (absent) in exports before version 14.</summary>
    [JsonPropertyName("rotary_padding_rows"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public int RotaryPaddingRows { get; init; }
    /// <summary>Whether the causal, multi-row causal and slots graphs compute the MLP's activation with ONNX Runtime's contrib
    /// SwiGLU (exporter 13's float16 and bfloat16 exports), whose only kernel is the CUDA provider's: on every other provider
    /// the runtime keeps such an export on its general graph. False (absent) in every other export.</summary>
    [JsonPropertyName("cuda_swiglu"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public bool CudaSwiGlu { get; init; }
    /// <summary>The graphs that edit a device-resident KV cache; null in exports made before them.</summary>
    [JsonPropertyName("kv_ops")] public ManifestKvOps? KvOps { get; init; }
    /// <summary>Fingerprint of the source checkpoint (the export cache's key).</summary>
    [JsonPropertyName("checkpoint_fingerprint")] public string? CheckpointFingerprint { get; init; }
    /// <summary>Bumped when the exporter's output changes for the same checkpoint (invalidates caches).</summary>
    [JsonPropertyName("exporter_version")] public int ExporterVersion { get; init; }

    /// <summary>Whether the graphs have the greedy_tokens output (exporter 7 on): each selected position's argmax token,
    /// computed where the logits are.</summary>
    [JsonIgnore] public bool HasGreedyTokens => ExporterVersion >= 7;

    /// <summary>Pending layers, cyclic blocks and passes of a layer-condensed model (nothing for a standard one);
    /// derived on each call, so callers on a hot path keep the result.</summary>
    [JsonIgnore] public LayerCondensation Condensation => LayerCondensation.Of(LayerKvSource, (ForwardPasses ?? 0) + (BackwardPasses ?? 0));

    /// <summary>Whether this is a layer-condensed export (<see cref="LayerCondensation.Architecture"/>), whose causal graph
    /// takes decode steps alone: one token per row, at a position after the row's first.</summary>
    [JsonIgnore] public bool IsLayerCondensed => Architecture == LayerCondensation.Architecture;

    /// <summary>Element type of the KV buffers.</summary>
    [JsonIgnore] public KvDataType KvType => DType switch
    {
        "float32" => KvDataType.Float32,
        "float16" => KvDataType.Float16,
        "bfloat16" => KvDataType.BFloat16,
        _ => throw new CondensaException($"{FileName}: field 'dtype' has unsupported value '{DType}' (expected float32, float16 or bfloat16)."),
    };

    /// <summary>KV bytes one token costs across all stored layers (keys and values).</summary>
    [JsonIgnore] public long KvBytesPerToken => 2L * KvLayers.Length * NumKvHeads * HeadDim * KvType.SizeInBytes();

    /// <summary>KV bytes one token would cost if every layer stored its own KV (the standard architecture).</summary>
    [JsonIgnore] public long StandardKvBytesPerToken => 2L * NumLayers * NumKvHeads * HeadDim * KvType.SizeInBytes();

    /// <summary>KV bytes a decode step reads per cached token: each layer reads the KV of the layer it attends to, so a
    /// layer-condensed model reads as much as the standard one though it stores less (what it gains in a fixed KV budget
    /// is rows: more tokens share each read of the weights).</summary>
    [JsonIgnore] public long KvBytesReadPerToken => StandardKvBytesPerToken;

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>The manifest as the exporter writes it: indented JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Indented);

    /// <summary>Reads and checks <c>condensa.json</c> in an export folder.</summary>
    /// <exception cref="CondensaException">The file is missing, malformed, or a field is out of range; the message names it.</exception>
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
        Require(Format == CurrentFormat, "format", Format, path);
        Require(VocabSize > 0, "vocab_size", VocabSize, path);
        Require(NumLayers > 0, "num_layers", NumLayers, path);
        Require(NumKvHeads > 0 && NumHeads % NumKvHeads == 0, "num_kv_heads", NumKvHeads, path);
        Require(HeadDim > 0, "head_dim", HeadDim, path);
        Require(MaxContext > 0, "max_context", MaxContext, path);
        Require(KvLayers.Length > 0 && KvLayers.All(l => l >= 0 && l < NumLayers), "kv_layers", string.Join(",", KvLayers), path);
        Require(LayerKvSource.Length == NumLayers && LayerKvSource.All(KvLayers.Contains), "layer_kv_source",
            string.Join(",", LayerKvSource), path);
        Require(CausalMaxContext is null || (CausalMaxContext > 0 && CausalMaxContext <= MaxContext), "causal_max_context", CausalMaxContext!, path);
        Require(RotaryPaddingRows >= 0, "rotary_padding_rows", RotaryPaddingRows, path);
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

/// <summary>Rope facts recorded in condensa.json (RoPE itself is inside the graph).</summary>
/// <param name="Type">"default", "linear", "llama3", ...: config.json's rope type.</param>
/// <param name="Theta">Base of the inverse frequencies.</param>
public sealed record ManifestRope(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("theta")] double Theta);

/// <summary>Block quantization of the linear weights recorded in condensa.json (the graph holds MatMulNBits nodes).</summary>
/// <param name="Bits">4 or 8.</param>
/// <param name="BlockSize">Weights per scale along K.</param>
/// <param name="AccuracyLevel">MatMulNBits accuracy_level (4: int8 activations on the CPU provider).</param>
/// <param name="LmHead">Whether lm_head is quantized.</param>
/// <param name="Int4Mix">With 4 bits: which weights the mix kept at 8 bits ("none", "kv", "kv-head"); absent with 8 bits.</param>
public sealed record ManifestQuantization(
    [property: JsonPropertyName("bits")] int Bits,
    [property: JsonPropertyName("block_size")] int BlockSize,
    [property: JsonPropertyName("accuracy_level")] int AccuracyLevel,
    [property: JsonPropertyName("lm_head")] bool LmHead,
    [property: JsonPropertyName("int4_mix"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Int4Mix = null);

/// <summary>File names of the graphs that edit a device-resident KV cache (condensa.json "kv_ops").</summary>
/// <param name="Write">Gathers entries of a source and scatters them into a cache, every layer in one run.</param>
/// <param name="Zeros">Fills a buffer with zeros.</param>
/// <param name="Copy">Copies one tensor into another buffer.</param>
/// <param name="WriteEntries">Gathers entries of a source and scatters them into a cache where every tensor lies in one
/// buffer, viewed as [entries, head_dim]: two kernels for any number of layers (exporter 16 on; null before).</param>
/// <param name="WriteFromFloat">Write's inputs and outputs with a float32 source, its entries cast to the cache's type: a
/// half-precision export's, so it can draft for the float32 export of its checkpoint (exporter 19 on; null for float32 KV
/// and before).</param>
public sealed record ManifestKvOps(
    [property: JsonPropertyName("write")] string Write,
    [property: JsonPropertyName("zeros")] string Zeros,
    [property: JsonPropertyName("copy")] string Copy,
    [property: JsonPropertyName("write_entries"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? WriteEntries = null,
    [property: JsonPropertyName("write_from_float"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? WriteFromFloat = null);
