namespace Condensa.Export;

/// <summary>The graphs an export writes over one set of weights (docs/ARCHITECTURE.md, "The causal graphs").</summary>
internal enum DecoderGraph
{
    /// <summary>Every pass the host can ask for: explicit positions, the host's mask (trees, windows, budgets).</summary>
    General,
    /// <summary>Causal passes at the rows' next positions through GroupQueryAttention: one token per row, or one row.</summary>
    Causal,
    /// <summary>Causal passes of several tokens in several rows, which GroupQueryAttention refuses: TensorScatter and Attention.</summary>
    CausalRows,
    /// <summary>The general graph's passes whose new entries it writes into their own slots (every pass of a full cache, a
    /// budgeted cache's passes up to its slack): the same contract, attention over the written cache by one Attention node.</summary>
    Slots,
}
