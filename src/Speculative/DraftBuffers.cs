namespace Condensa.Speculative;

/// <summary>
/// What a drafter hands the verifier each round, in buffers allocated once per generation:
/// up to γ tokens per row, their count, and (when the drafter sampled them) the distributions they came from.
/// </summary>
public sealed class DraftBuffers
{
    /// <summary>Allocates buffers for a batch, the largest γ, and (when <paramref name="withDistributions"/>) q.</summary>
    public DraftBuffers(int batch, int maxGamma, int vocab, bool withDistributions)
    {
        (Batch, MaxGamma, Vocab) = (batch, maxGamma, vocab);
        Tokens = new int[batch * maxGamma];
        Counts = new int[batch];
        Distributions = withDistributions ? new float[batch * maxGamma * vocab] : [];
    }

    /// <summary>Rows.</summary>
    public int Batch { get; }

    /// <summary>Largest draft length the buffers hold.</summary>
    public int MaxGamma { get; }

    /// <summary>Vocabulary size.</summary>
    public int Vocab { get; }

    /// <summary>[batch, maxGamma] drafted tokens.</summary>
    public int[] Tokens { get; }

    /// <summary>[batch] drafted tokens per row this round.</summary>
    public int[] Counts { get; }

    /// <summary>[batch, maxGamma, vocab] distributions the drafts were drawn from; empty when drafts are deterministic.</summary>
    public float[] Distributions { get; }

    /// <summary>Whether <see cref="Distributions"/> holds this round's q (false: each draft is one-hot).</summary>
    public bool HasDistributions { get; set; }

    /// <summary>Row b's drafts.</summary>
    public Span<int> Row(int b) => Tokens.AsSpan(b * MaxGamma, Counts[b]);

    /// <summary>Row b's q, [count, vocab], or empty.</summary>
    public ReadOnlySpan<float> RowDistributions(int b) =>
        HasDistributions ? Distributions.AsSpan(b * MaxGamma * Vocab, Counts[b] * Vocab) : [];
}
