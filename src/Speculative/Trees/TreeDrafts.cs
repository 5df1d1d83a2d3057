namespace Condensa.Speculative.Trees;

/// <summary>
/// What a tree drafter hands the verifier each round, in buffers allocated once per generation: a tree per row, the
/// draft distributions its children were drawn from (when sampled), and, after verification, each row's accepted path.
/// </summary>
public sealed class TreeDrafts
{
    /// <summary>Allocates buffers for a batch and trees of up to <paramref name="maxNodes"/> nodes.</summary>
    public TreeDrafts(int batch, int maxNodes, int vocab, bool withDistributions)
    {
        (Batch, MaxNodes, Vocab) = (batch, maxNodes, vocab);
        Trees = [.. Enumerable.Range(0, batch).Select(_ => new TokenTree(maxNodes))];
        Distributions = withDistributions ? new float[batch * maxNodes * vocab] : [];
        Paths = new int[batch * maxNodes];
        PathLengths = new int[batch];
        DepthLimits = new int[batch];
    }

    /// <summary>Rows.</summary>
    public int Batch { get; }

    /// <summary>Largest tree the buffers hold.</summary>
    public int MaxNodes { get; }

    /// <summary>Vocabulary size.</summary>
    public int Vocab { get; }

    /// <summary>[batch] this round's trees.</summary>
    public TokenTree[] Trees { get; }

    /// <summary>[batch, maxNodes, vocab]: row b, node i holds the law node i's children were drawn from.</summary>
    public float[] Distributions { get; }

    /// <summary>Whether <see cref="Distributions"/> holds this round's q (false: children were chosen deterministically).</summary>
    public bool HasDistributions { get; set; }

    /// <summary>[batch] the deepest draft level each row may use this round (room left before the token limit or the context).</summary>
    public int[] DepthLimits { get; }

    /// <summary>[batch, maxNodes] accepted node indices per row, root first; set by verification.</summary>
    public int[] Paths { get; }

    /// <summary>[batch] nodes on each row's accepted path (the root included).</summary>
    public int[] PathLengths { get; }

    /// <summary>Row b's q, [nodes, vocab], or empty.</summary>
    public ReadOnlySpan<float> RowDistributions(int b) =>
        HasDistributions ? Distributions.AsSpan(b * MaxNodes * Vocab, Trees[b].Count * Vocab) : [];

    /// <summary>Row b's accepted path.</summary>
    public ReadOnlySpan<int> Path(int b) => Paths.AsSpan(b * MaxNodes, PathLengths[b]);
}
