namespace Condensa.Export;

/// <summary>Numeric precision of an exported graph.</summary>
public enum ExportPrecision
{
    /// <summary>float32 weights, activations and KV.</summary>
    Fp32,
    /// <summary>float16 weights, activations and KV; norms and softmax in float32; logits float32.</summary>
    Fp16,
    /// <summary>bfloat16 weights, activations and KV (a bfloat16 checkpoint's own precision, float32's range); norms and
    /// softmax in float32; logits float32. For GPU providers: ONNX Runtime's CPU provider has no bfloat16 kernels.</summary>
    Bf16,
    /// <summary>Linear weights block-quantized to 4 bits (com.microsoft MatMulNBits), some kept at 8 (<see cref="Int4Mix"/>);
    /// embeddings, norms, activations and KV float32.</summary>
    Int4,
    /// <summary>Linear weights block-quantized to 8 bits (MatMulNBits); everything else float32.</summary>
    Int8,
}

/// <summary>Options of <see cref="CheckpointExporter.Export"/>.</summary>
public sealed record ExportOptions
{
    /// <summary>Precision of weights, activations and KV buffers (default float32).</summary>
    public ExportPrecision Precision { get; init; } = ExportPrecision.Fp32;

    /// <summary>Receives one line per export step (what is being done, with the time so far), e.g. for a progress
    /// display on stderr: a large checkpoint takes minutes. Null: silent.</summary>
    public Action<string>? Progress { get; init; }

    /// <summary>
    /// With <see cref="ExportPrecision.Int4"/> / <see cref="ExportPrecision.Int8"/>: float16 activations, KV and scales
    /// instead of float32, the layout GPU providers run fast (and where the causal graph's CUDA kernels apply).
    /// </summary>
    public bool HalfActivations { get; init; }

    /// <summary>
    /// Whether the causal, multi-row causal and slots graphs compute a SiLU MLP's activation as ONNX Runtime's contrib SwiGLU
    /// over the unsplit gate/up projection (no Split kernel a layer: 1-11 % faster decode of the 1.1B shape on the H200,
    /// docs/benchmarks.md round 13). Only ONNX Runtime's CUDA provider has that kernel, so on other providers such an export
    /// runs its general graph (the manifest's cuda_swiglu says so). Null (default): for float16 and bfloat16 exports, the
    /// GPU precisions.
    /// </summary>
    public bool? SwiGlu { get; init; }

    /// <summary>Whether tokenizer and generation files of the checkpoint are copied beside the graph (default true).</summary>
    public bool CopyTokenizerFiles { get; init; } = true;

    /// <summary>
    /// Quantization settings for <see cref="ExportPrecision.Int4"/> / <see cref="ExportPrecision.Int8"/> (block size,
    /// accuracy level, lm_head); null takes <see cref="DefaultQuantization"/>. Its bits must match the precision.
    /// </summary>
    public WeightQuantization? Quantization { get; init; }

    /// <summary>
    /// The settings a quantized precision uses by default: blocks of 32, lm_head quantized, and int8 activations inside
    /// MatMulNBits (accuracy_level 4): on a 2-core CPU that decodes the 1.1B shape 1.8x (int4) and 55x (int8) faster than
    /// float activations, for under 0.1 % perplexity on demo-code (docs/benchmarks.md). GPU providers ignore the level.
    /// int4 keeps k_proj, v_proj and lm_head at 8 bits (<see cref="Int4Mix.KvHead"/>): on demo-code that halves the KL
    /// divergence from fp32 of all-4-bit weights and their perplexity cost (+1.96 % to +1.09 %), for 6.9 % more weight
    /// bytes per decode step at the 1.1B shape.
    /// </summary>
    public static WeightQuantization? DefaultQuantization(ExportPrecision precision) => precision switch
    {
        ExportPrecision.Int4 => new WeightQuantization(4, AccuracyLevel: Int8Activations, Mix: Int4Mix.KvHead),
        ExportPrecision.Int8 => new WeightQuantization(8, AccuracyLevel: Int8Activations),
        _ => null,
    };

    /// <summary>MatMulNBits accuracy_level that lets the CPU provider quantize activations to int8.</summary>
    public const int Int8Activations = 4;

    /// <summary>The quantization this export applies, or null for float weights.</summary>
    /// <exception cref="ArgumentException">Quantization settings with a float precision, or bits that contradict it.</exception>
    public WeightQuantization? ResolveQuantization()
    {
        var defaults = DefaultQuantization(Precision);
        if (Quantization is null) return defaults;
        if (defaults is null)
            throw new ArgumentException($"quantization settings need precision int4 or int8, not {Precision}.", nameof(Quantization));
        if (Quantization.Bits != defaults.Bits)
            throw new ArgumentException($"quantization bits {Quantization.Bits} contradict precision {Precision}.", nameof(Quantization));
        Quantization.Validate();
        return Quantization;
    }
}
