namespace Condensa.Export;

/// <summary>The graphs an export writes over one set of weights (docs/ARCHITECTURE.md, "The causal graphs").</summary>
internal enum DecoderGraph
{
    /// <summary>Every pass the host can ask for: explicit positions, the host's attention_bias (trees, windows, budgets).</summary>
    General,
    /// <summary>Causal passes at the rows' next positions through GroupQueryAttention: one token per row, or one row.</summary>
    Causal,
    /// <summary>Causal passes of several tokens in several rows, which GroupQueryAttention refuses: TensorScatter and Attention.</summary>
    CausalRows,
}
