namespace Condensa.Runtime;

/// <summary>
/// Builds a general or slots pass's mask, compact (exporter 17): attention_span [batch, seqLen, 2], the cache slots each
/// new token sees, [first, end), and attention_new [batch, 1, seqLen, seqLen], which new tokens it sees (0 admits,
/// <see cref="GraphNames.MaskValue"/> blocks). The graph expands them into the bias over [cache slots ++ new tokens], so a
/// pass sends 16 + 4·seqLen bytes a new token, not 4 a cache slot.
/// </summary>
public static class AttentionMask
{
    /// <summary>
    /// Causal mask for appending counts[b] tokens to row b, whose cache fills slots 0..lengths[b]-1. Query j of row b
    /// sees those slots and the new tokens up to itself (or its tree ancestors), limited to the last
    /// <paramref name="slidingWindow"/> positions when given, which needs slot = position (query j then at lengths[b] + j;
    /// a budgeted cache, whose slots are not its positions, passes none). Query rows past counts[b] (padding of a ragged
    /// batch) see nothing and so output 0.
    /// </summary>
    /// <param name="spans">[batch, seqLen, 2], overwritten: each query's visible slots [first, end), [0, 0) for none.</param>
    /// <param name="newBias">[batch, 1, seqLen, seqLen], overwritten: which new tokens each query sees.</param>
    /// <param name="lengths">[batch] slots each row fills (its tokens, where slot = position).</param>
    /// <param name="counts">[batch] real new tokens per row.</param>
    /// <param name="seqLen">New tokens per row in this pass, padding included.</param>
    /// <param name="slidingWindow">Attention window in positions, or null for full attention.</param>
    /// <param name="newVisibility">Optional [batch, seqLen, seqLen]: entry [b, j, k] lets new query j see new token
    /// k (a token tree); empty means causal among the new tokens.</param>
    /// <param name="positions">Optional [batch, seqLen] positions of the new tokens; empty = length + index.</param>
    public static void Build(Span<long> spans, Span<float> newBias, ReadOnlySpan<int> lengths, ReadOnlySpan<int> counts, int seqLen,
        int? slidingWindow = null, ReadOnlySpan<bool> newVisibility = default, ReadOnlySpan<long> positions = default)
    {
        var batch = lengths.Length;
        if (spans.Length < batch * seqLen * 2) throw new ArgumentException("spans is smaller than [batch, seqLen, 2]", nameof(spans));
        if (newBias.Length < batch * seqLen * seqLen) throw new ArgumentException("newBias is smaller than [batch, 1, seqLen, seqLen]", nameof(newBias));
        var window = slidingWindow ?? int.MaxValue;
        for (var b = 0; b < batch; b++)
        for (var j = 0; j < seqLen; j++)
        {
            var query = b * seqLen + j;
            var row = newBias.Slice(query * seqLen, seqLen);
            row.Fill(GraphNames.MaskValue);
            (spans[2 * query], spans[2 * query + 1]) = (0, 0);
            if (j >= counts[b]) continue;
            var position = positions.IsEmpty ? lengths[b] + j : positions[query];
            // Cache slots: slot s holds position s; admit the ones inside the window.
            var first = Math.Max(0, position - window + 1);
            if (first < lengths[b]) (spans[2 * query], spans[2 * query + 1]) = (first, lengths[b]);
            // New tokens: causal (or the tree's ancestor set), inside the window.
            for (var k = 0; k < counts[b]; k++)
            {
                var visible = newVisibility.IsEmpty ? k <= j : newVisibility[query * seqLen + k];
                var keyPosition = positions.IsEmpty ? lengths[b] + k : positions[b * seqLen + k];
                if (visible && position - keyPosition < window) row[k] = 0f;
            }
        }
    }
}
