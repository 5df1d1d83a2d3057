namespace Condensa.Runtime;

/// <summary>
/// Builds the attention_bias input, [batch, 1, seqLen, capacity + seqLen]: for each new token, which cache slots
/// and which new tokens it may attend to. 0 admits a key, <see cref="GraphNames.MaskValue"/> blocks it.
/// </summary>
public static class AttentionMask
{
    /// <summary>
    /// Causal mask for appending counts[b] tokens to row b, whose cache holds lengths[b] tokens at slots
    /// 0..lengths[b]-1 (slot index = position). Query j of row b (position lengths[b] + j) sees slots and new
    /// tokens up to itself, limited to the last <paramref name="slidingWindow"/> positions when given. Query
    /// rows past counts[b] (padding of a ragged batch) see nothing and so output 0.
    /// </summary>
    /// <param name="bias">[batch, 1, seqLen, capacity + seqLen], overwritten.</param>
    /// <param name="lengths">[batch] tokens already cached per row.</param>
    /// <param name="counts">[batch] real new tokens per row.</param>
    /// <param name="seqLen">New tokens per row in this pass, padding included.</param>
    /// <param name="capacity">Cache slots per row.</param>
    /// <param name="slidingWindow">Attention window in positions, or null for full attention.</param>
    /// <param name="newVisibility">Optional [batch, seqLen, seqLen]: entry [b, j, k] lets new query j see new token
    /// k (a token tree); empty means causal among the new tokens.</param>
    /// <param name="positions">Optional [batch, seqLen] positions of the new tokens; empty = length + index.</param>
    public static void Build(Span<float> bias, ReadOnlySpan<int> lengths, ReadOnlySpan<int> counts, int seqLen, int capacity,
        int? slidingWindow = null, ReadOnlySpan<bool> newVisibility = default, ReadOnlySpan<long> positions = default)
    {
        var batch = lengths.Length;
        var keys = capacity + seqLen;
        if (bias.Length < batch * seqLen * keys) throw new ArgumentException("bias is smaller than [batch, 1, seqLen, capacity + seqLen]", nameof(bias));
        var window = slidingWindow ?? int.MaxValue;
        for (var b = 0; b < batch; b++)
        for (var j = 0; j < seqLen; j++)
        {
            var row = bias.Slice((b * seqLen + j) * keys, keys);     // [capacity + seqLen]
            row.Fill(GraphNames.MaskValue);
            if (j >= counts[b]) continue;
            var position = positions.IsEmpty ? lengths[b] + j : positions[b * seqLen + j];
            // Cache slots: slot s holds position s; admit the ones inside the window.
            var first = (int)Math.Max(0, position - window + 1);
            if (first < lengths[b]) row[first..lengths[b]].Clear();
            // New tokens: causal (or the tree's ancestor set), inside the window.
            for (var k = 0; k < counts[b]; k++)
            {
                var visible = newVisibility.IsEmpty ? k <= j : newVisibility[(b * seqLen + j) * seqLen + k];
                var keyPosition = positions.IsEmpty ? lengths[b] + k : positions[b * seqLen + k];
                if (visible && position - keyPosition < window) row[capacity + k] = 0f;
            }
        }
    }

    /// <summary>
    /// Mask for a budgeted (sink + window) cache, whose slots hold arbitrary positions: query j of row b at position
    /// p sees every filled slot whose position is below lengths[b] and is a sink or within the last window
    /// positions before p, plus the new tokens up to itself (or its tree ancestors) under the same rule.
    /// </summary>
    internal static void BuildBudgeted(Span<float> bias, ReadOnlySpan<long> slotPositions, ReadOnlySpan<int> lengths, ReadOnlySpan<int> counts,
        int seqLen, int capacity, KvBudget budget, ReadOnlySpan<bool> newVisibility, ReadOnlySpan<long> positions)
    {
        var batch = lengths.Length;
        var keys = capacity + seqLen;
        for (var b = 0; b < batch; b++)
        for (var j = 0; j < seqLen; j++)
        {
            var row = bias.Slice((b * seqLen + j) * keys, keys);     // [capacity + seqLen]
            row.Fill(GraphNames.MaskValue);
            if (j >= counts[b]) continue;
            var position = positions.IsEmpty ? lengths[b] + j : positions[b * seqLen + j];
            var slots = slotPositions.Slice(b * capacity, capacity);
            for (var s = 0; s < capacity; s++)
                if (slots[s] >= 0 && slots[s] < lengths[b] && budget.Admits(slots[s], position)) row[s] = 0f;
            for (var k = 0; k < counts[b]; k++)
            {
                var visible = newVisibility.IsEmpty ? k <= j : newVisibility[(b * seqLen + j) * seqLen + k];
                var keyPosition = positions.IsEmpty ? lengths[b] + k : positions[b * seqLen + k];
                if (visible && budget.Admits(keyPosition, position)) row[capacity + k] = 0f;
            }
        }
    }
}
