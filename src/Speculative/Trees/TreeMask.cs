namespace Condensa.Speculative.Trees;

/// <summary>
/// Flattening a batch of token trees for one forward pass: tokens in breadth-first order, rotary positions
/// prefix + depth, and the visibility among the new tokens (each node sees its ancestors and itself). The cache
/// side of the mask (every prefix slot) is the usual one, so the pass's attention is prefix ++ ancestors-or-self.
/// </summary>
public static class TreeMask
{
    /// <summary>Fills the inputs of one pass over <paramref name="trees"/> (row b's tree starts at starts[b]).</summary>
    /// <param name="trees">[batch] trees; a row with counts[b] = 0 is skipped (padding only).</param>
    /// <param name="counts">[batch] nodes of each row to feed: a prefix of its breadth-first order.</param>
    /// <param name="starts">[batch] cached tokens of each row before the pass (the root's position).</param>
    /// <param name="seqLen">Tokens per row in the pass, at least max(counts).</param>
    /// <param name="tokens">[batch, seqLen] node tokens, padding 0.</param>
    /// <param name="positions">[batch, seqLen] start + depth, padding at the row's last real position.</param>
    /// <param name="visibility">[batch, seqLen, seqLen] entry [b, j, k]: node j may see node k (k is j or an ancestor).</param>
    public static void Flatten(IReadOnlyList<TokenTree> trees, ReadOnlySpan<int> counts, ReadOnlySpan<int> starts, int seqLen,
        Span<int> tokens, Span<long> positions, Span<bool> visibility)
    {
        var batch = counts.Length;
        if (tokens.Length < batch * seqLen || positions.Length < batch * seqLen || visibility.Length < batch * seqLen * seqLen)
            throw new ArgumentException($"buffers must hold [batch={batch}, seqLen={seqLen}] tokens and positions and [batch, seqLen, seqLen] visibility");
        for (var b = 0; b < batch; b++)
        {
            var n = counts[b];
            if (n > seqLen || (n > 0 && n > trees[b].Count)) throw new ArgumentOutOfRangeException(nameof(counts), $"row {b}: {n} nodes do not fit");
            var rowTokens = tokens.Slice(b * seqLen, seqLen);                     // [seqLen]
            var rowPositions = positions.Slice(b * seqLen, seqLen);               // [seqLen]
            var rowVisibility = visibility.Slice(b * seqLen * seqLen, seqLen * seqLen);   // [seqLen, seqLen]
            rowTokens.Clear();
            rowVisibility.Clear();
            rowPositions.Fill(starts[b] + (n > 0 ? trees[b].Depths[n - 1] : 0));
            for (var j = 0; j < n; j++)
            {
                rowTokens[j] = trees[b].Tokens[j];
                rowPositions[j] = starts[b] + trees[b].Depths[j];
                Ancestry(trees[b], j, rowVisibility.Slice(j * seqLen, seqLen));
            }
        }
    }

    /// <summary>Marks <paramref name="node"/> and its ancestors in <paramref name="row"/> (one query's [seqLen] keys).</summary>
    public static void Ancestry(TokenTree tree, int node, Span<bool> row)
    {
        for (var k = node; k >= 0; k = tree.Parents[k]) row[k] = true;
    }
}
