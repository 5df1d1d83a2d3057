namespace Condensa.TestSupport;

/// <summary>
/// The attention bias [batch, 1, seqLen, capacity + seqLen] a general or slots graph builds from the host's compact mask
/// (attention_span, attention_new: <c>Attention.BiasFromSpans</c>), computed on the host, so tests can state masks whole.
/// </summary>
public static class DenseMask
{
    /// <summary>Slot t of query (b, j) is admitted (0) when spans[b, j] = [first, end) holds it, else blocked
    /// (<see cref="GraphNames.MaskValue"/>); the new-token columns are attention_new's row.</summary>
    public static float[] Expand(ReadOnlySpan<long> spans, ReadOnlySpan<float> newBias, int batch, int seqLen, int capacity)
    {
        var keys = capacity + seqLen;
        var bias = new float[batch * seqLen * keys];
        for (var q = 0; q < batch * seqLen; q++)
        {
            var row = bias.AsSpan(q * keys, keys);
            for (var t = 0; t < capacity; t++) row[t] = spans[2 * q] <= t && t < spans[2 * q + 1] ? 0f : GraphNames.MaskValue;
            newBias.Slice(q * seqLen, seqLen).CopyTo(row[capacity..]);
        }
        return bias;
    }

    /// <summary>The compact inputs for rows whose first <paramref name="pastLen"/>[b] slots every new token sees, the new
    /// tokens causal among themselves (within <paramref name="window"/> tokens back where given), blocked at
    /// <paramref name="blocked"/>: what the test harnesses feed a graph.</summary>
    public static (GraphTensor Spans, GraphTensor New) Causal(int[] pastLen, int seqLen, int? window = null, float blocked = GraphNames.MaskValue)
    {
        var batch = pastLen.Length;
        var spans = new long[batch * seqLen * 2];
        var fresh = new float[batch * seqLen * seqLen];
        for (var b = 0; b < batch; b++)
        for (var i = 0; i < seqLen; i++)
        {
            var q = b * seqLen + i;
            (spans[2 * q], spans[2 * q + 1]) = (0, pastLen[b]);
            for (var k = 0; k < seqLen; k++)
                fresh[q * seqLen + k] = k <= i && (window is not { } w || i - k < w) ? 0f : blocked;
        }
        return (GraphTensor.Of(spans, batch, seqLen, 2), GraphTensor.Of(fresh, batch, 1, seqLen, seqLen));
    }
}
