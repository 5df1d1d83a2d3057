using Condensa.TestSupport;

namespace Condensa.Export.Tests;

/// <summary>
/// Builds the contract's inputs for one graph step the way a host does: past buffers [B, Hkv, C, D],
/// a mask that admits slots 0..pastLen-1 of each row plus causal new tokens, and logits positions.
/// </summary>
internal sealed class DecoderHarness(OnnxGraphRunner runner, HfConfig config)
{
    public const float Blocked = GraphNames.MaskValue;

    /// <summary>
    /// Runs ids [B][S] at positions [B][S] over caches of <paramref name="capacity"/> slots, of which the first
    /// pastLen[b] are admitted. past: per layer key and value buffers [B, Hkv, C, D] (zeros when null).
    /// logitsIndex [B][K] defaults to every position; window also blocks new keys that many tokens back; blocked is the bias of a blocked new key.
    /// </summary>
    public Dictionary<string, GraphTensor> Step(int[][] ids, int[][] positions, int capacity, int[] pastLen,
        float[][]? pastKeys = null, float[][]? pastValues = null, long[][]? logitsIndex = null, int? window = null,
        float blocked = Blocked)
    {
        int b = ids.Length, s = ids[0].Length;
        int hkv = config.NumKvHeads, d = config.HeadDim;
        var (spans, fresh) = DenseMask.Causal(pastLen, s, window, blocked);
        logitsIndex ??= Enumerable.Range(0, b).Select(_ => Enumerable.Range(0, s).Select(i => (long)i).ToArray()).ToArray();
        int k = logitsIndex[0].Length;

        var inputs = new Dictionary<string, GraphTensor>
        {
            [GraphNames.InputIds] = GraphTensor.Of(ids.SelectMany(r => r.Select(x => (long)x)).ToArray(), b, s),
            [GraphNames.PositionIds] = GraphTensor.Of(positions.SelectMany(r => r.Select(x => (long)x)).ToArray(), b, s),
            [GraphNames.AttentionSpan] = spans,
            [GraphNames.AttentionNew] = fresh,
            [GraphNames.LogitsIndex] = GraphTensor.Of(logitsIndex.SelectMany(r => r).ToArray(), b, k),
            [GraphNames.KvWriteIndex] = WriteIndex(b, hkv, s, slot: capacity - 1),
        };
        for (int l = 0; l < config.NumLayers; l++)
        {
            inputs[GraphNames.PastKey(l)] = GraphTensor.Of(pastKeys?[l] ?? new float[b * hkv * capacity * d], b, hkv, capacity, d);
            inputs[GraphNames.PastValue(l)] = GraphTensor.Of(pastValues?[l] ?? new float[b * hkv * capacity * d], b, hkv, capacity, d);
        }
        return runner.Run(inputs);
    }

    /// <summary>
    /// kv_write_index [B, Hkv, S, 3] sending every new entry to <paramref name="slot"/>. The harnesses let ONNX Runtime
    /// allocate the present outputs (copies of the past), so where the graph writes does not touch the inputs.
    /// </summary>
    public static GraphTensor WriteIndex(int batch, int kvHeads, int seqLen, int slot)
    {
        var index = new long[batch * kvHeads * seqLen * 3];
        for (int i = 0; i < index.Length; i += 3) (index[i], index[i + 1], index[i + 2]) = (i / 3 / (kvHeads * seqLen), i / 3 / seqLen % kvHeads, slot);
        return GraphTensor.Of(index, batch, kvHeads, seqLen, 3);
    }

    /// <summary>Writes new KV [B, Hkv, S, D] into slots at..at+S-1 of a buffer [B, Hkv, C, D].</summary>
    public void WriteKv(float[] buffer, float[] fresh, int batch, int capacity, int s, int at)
    {
        int hkv = config.NumKvHeads, d = config.HeadDim;
        for (int r = 0; r < batch; r++)
            for (int h = 0; h < hkv; h++)
                for (int i = 0; i < s; i++)
                    Array.Copy(fresh, ((r * hkv + h) * s + i) * d, buffer, ((r * hkv + h) * capacity + at + i) * d, d);
    }

    /// <summary>Row <paramref name="row"/>, position <paramref name="k"/> of logits [B, K, V].</summary>
    public static float[] LogitsAt(GraphTensor logits, int row, int k)
    {
        int kk = (int)logits.Shape[1], v = (int)logits.Shape[2];
        return logits.F.AsSpan((row * kk + k) * v, v).ToArray();
    }

    /// <summary>max |a - b| / max |b| over rows of logits.</summary>
    public static double RelativeError(IReadOnlyList<float[]> actual, IReadOnlyList<double[]> expected)
    {
        double maxDiff = 0, maxRef = 0;
        for (int i = 0; i < expected.Count; i++)
            for (int j = 0; j < expected[i].Length; j++)
            {
                maxDiff = Math.Max(maxDiff, Math.Abs(actual[i][j] - expected[i][j]));
                maxRef = Math.Max(maxRef, Math.Abs(expected[i][j]));
            }
        return maxDiff / maxRef;
    }

    public static int ArgMax(IReadOnlyList<double> x) => Enumerable.Range(0, x.Count).MaxBy(i => x[i]);
    public static int ArgMax(IReadOnlyList<float> x) => Enumerable.Range(0, x.Count).MaxBy(i => x[i]);
}
