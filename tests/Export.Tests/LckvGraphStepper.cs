using Condensa.TestSupport;

namespace Condensa.Export.Tests;

/// <summary>
/// Drives an LCKV graph the way the runtime host does, with plain arrays: past buffers of the stored layers only
/// (capacity fixed), pending inputs for the targets, and a causal mask over [committed slots ++ new tokens].
/// </summary>
internal sealed class LckvGraphStepper(OnnxGraphRunner runner, HfConfig config, int capacity)
{
    private readonly LckvSettings _lckv = config.Lckv!;
    private readonly Dictionary<int, (float[] K, float[] V)> _past = config.Lckv!.Condensation.StoredLayers.ToDictionary(
        l => l, _ => (new float[config.NumKvHeads * capacity * config.HeadDim], new float[config.NumKvHeads * capacity * config.HeadDim]));
    private int _length;

    /// <summary>One pass over ids (batch 1) after the committed tokens; commit appends the new KV.</summary>
    public float[][] Pass(int[] ids, bool commit, Dictionary<int, (float[] K, float[] V)>? pending) =>
        Pass(ids, commit, pending, out _);

    /// <summary>One pass; <paramref name="fresh"/> receives the pass's new KV of every stored layer.</summary>
    public float[][] Pass(int[] ids, bool commit, Dictionary<int, (float[] K, float[] V)>? pending,
        out Dictionary<int, (float[] K, float[] V)> fresh)
    {
        int s = ids.Length, hkv = config.NumKvHeads, d = config.HeadDim;
        var (spans, newMask) = DenseMask.Causal([_length], s);
        var inputs = new Dictionary<string, GraphTensor>
        {
            [GraphNames.InputIds] = GraphTensor.Of(ids.Select(x => (long)x).ToArray(), 1, s),
            [GraphNames.PositionIds] = GraphTensor.Of(Enumerable.Range(_length, s).Select(x => (long)x).ToArray(), 1, s),
            [GraphNames.AttentionSpan] = spans,
            [GraphNames.AttentionNew] = newMask,
            [GraphNames.LogitsIndex] = GraphTensor.Of(Enumerable.Range(0, s).Select(x => (long)x).ToArray(), 1, s),
            [GraphNames.KvWriteIndex] = DecoderHarness.WriteIndex(1, hkv, s, slot: capacity - 1),
        };
        foreach (var (l, (k, v)) in _past)
        {
            inputs[GraphNames.PastKey(l)] = GraphTensor.Of(k, 1, hkv, capacity, d);
            inputs[GraphNames.PastValue(l)] = GraphTensor.Of(v, 1, hkv, capacity, d);
        }
        foreach (int l in _lckv.Condensation.PendingLayers)
        {
            var (k, v) = pending?[l] ?? (new float[hkv * s * d], new float[hkv * s * d]);
            inputs[GraphNames.PendingKey(l)] = GraphTensor.Of(k, 1, hkv, s, d);
            inputs[GraphNames.PendingValue(l)] = GraphTensor.Of(v, 1, hkv, s, d);
        }
        var outputs = runner.Run(inputs);
        fresh = _past.Keys.ToDictionary(l => l, l => (outputs[GraphNames.NewKey(l)].F, outputs[GraphNames.NewValue(l)].F));
        if (commit)
        {
            foreach (var (l, (k, v)) in fresh)
                for (int h = 0; h < hkv; h++)
                {
                    Array.Copy(k, h * s * d, _past[l].K, (h * capacity + _length) * d, s * d);
                    Array.Copy(v, h * s * d, _past[l].V, (h * capacity + _length) * d, s * d);
                }
            _length += s;
        }
        return [.. Enumerable.Range(0, s).Select(i => DecoderHarness.LogitsAt(outputs[GraphNames.Logits], 0, i))];
    }
}
