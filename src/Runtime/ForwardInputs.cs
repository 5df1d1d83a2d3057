namespace Condensa.Runtime;

/// <summary>
/// The new tokens of one forward pass. Positions default to each row's length + index and the new tokens
/// attend causally; a token tree passes its own positions (prefix + depth) and ancestor visibility.
/// </summary>
public readonly ref struct ForwardInputs
{
    /// <summary>Creates inputs for a causal pass.</summary>
    public ForwardInputs(ReadOnlySpan<int> tokens, ReadOnlySpan<int> counts, LogitsSelection selection)
    {
        Tokens = tokens;
        Counts = counts;
        Selection = selection;
    }

    /// <summary>[batch, seqLen] new tokens, row-major; entries past counts[b] are padding.</summary>
    public ReadOnlySpan<int> Tokens { get; }

    /// <summary>[batch] real new tokens per row.</summary>
    public ReadOnlySpan<int> Counts { get; }

    /// <summary>Which positions produce logits.</summary>
    public LogitsSelection Selection { get; }

    /// <summary>Optional [batch, seqLen] rotary positions; empty = row length + index.</summary>
    public ReadOnlySpan<long> Positions { get; init; }

    /// <summary>Optional [batch, seqLen, seqLen] visibility among new tokens; empty = causal.</summary>
    public ReadOnlySpan<bool> NewTokenVisibility { get; init; }
}
