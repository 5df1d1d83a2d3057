namespace Condensa.Export;

/// <summary>Numeric precision of an exported graph.</summary>
public enum ExportPrecision
{
    /// <summary>float32 weights, activations and KV.</summary>
    Fp32,
    /// <summary>float16 weights, activations and KV; norms and softmax in float32; logits float32.</summary>
    Fp16,
}

/// <summary>Options of <see cref="CheckpointExporter.Export"/>.</summary>
public sealed record ExportOptions
{
    /// <summary>Precision of weights, activations and KV buffers (default float32).</summary>
    public ExportPrecision Precision { get; init; } = ExportPrecision.Fp32;

    /// <summary>Whether tokenizer and generation files of the checkpoint are copied beside the graph (default true).</summary>
    public bool CopyTokenizerFiles { get; init; } = true;
}
