namespace Condensa.Runtime;

/// <summary>
/// Builds the attention_bias input, [batch, 1, seqLen, capacity + seqLen]: for each new token, which cache slots
/// and which new tokens it may attend to. 0 admits a key, <see cref="GraphNames.MaskValue"/> blocks it.
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
    /// <param name="bias">[batch, 1, seqLen, capacity + seqLen], overwritten.</param>
    /// <param name="lengths">[batch] slots each row fills (its tokens, where slot = position).</param>
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
}
