using Condensa.Export;

namespace Condensa.TestSupport;

/// <summary>
/// The float64 oracle of a layer-condensed (LCKV) checkpoint, written from the semantics of DESIGN.md §4 and
/// tools/train/lckv.py, with no ONNX and no graph:
/// <list type="bullet">
/// <item><see cref="Sequential"/>: exact decoding, one position at a time; layer i reads the stored KV of layer
/// layer_types[i] at positions [lo, hi): hi = p without a diagonal (force_nodiag or attends top), else p + 1;
/// lo = p - window + 1 for a sliding layer. A layer reading a higher layer sees entries 0..p-1 only, because
/// entry p does not exist yet. No admissible key: the attention output is 0.</item>
/// <item><see cref="Iterative"/>: the paper's prefill: over a chunk of more than R = forward + backward passes
/// tokens, each cyclic block runs R times from the same input, the pending KV of its targets starting at zero
/// and each pass reading the previous pass's; hidden states and stored KV come from the last pass. Chunks of
/// at most R tokens go token by token.</item>
/// </list>
/// With lckv_released_decode, token-by-token steps follow whyNLP/LCKV's released code instead (AttendReleased).
/// </summary>
public sealed class LckvReferenceModel
{
    private readonly ReferenceWeights _m;
    private readonly HfConfig _c;
    private readonly LckvSettings _lckv;

    /// <summary>Loads an LCKV checkpoint folder.</summary>
    public LckvReferenceModel(string checkpointDir)
    {
        _m = new ReferenceWeights(checkpointDir);
        _c = _m.Config;
        _lckv = _c.Lckv ?? throw new ArgumentException($"{checkpointDir} is not an LCKV checkpoint", nameof(checkpointDir));
    }

    /// <summary>The parsed config.json.</summary>
    public HfConfig Config => _c;

    /// <summary>Logits [T][V] of exact sequential decoding of <paramref name="ids"/> from position 0.</summary>
    public double[][] Sequential(IReadOnlyList<int> ids)
    {
        var cache = new Cache(_lckv.Condensation.StoredLayers);
        return [.. ids.Select(id => Step(cache, id))];
    }

    /// <summary>
    /// Logits [T][V] of <paramref name="ids"/> fed in chunks of the given sizes (default: one chunk; the sizes
    /// must add up to the ids), each chunk iterated over the KV the earlier chunks committed, or token by token when
    /// it has at most R tokens. Chunks of 1 after a prompt are decode steps.
    /// </summary>
    public double[][] Iterative(IReadOnlyList<int> ids, IReadOnlyList<int>? chunks = null)
    {
        chunks ??= [ids.Count];
        if (chunks.Sum() != ids.Count) throw new ArgumentException($"chunks add up to {chunks.Sum()}, not {ids.Count}", nameof(chunks));
        var cache = new Cache(_lckv.Condensation.StoredLayers);
        var logits = new List<double[]>();
        int start = 0;
        foreach (int chunk in chunks)
        {
            var part = ids.Skip(start).Take(chunk).ToArray();
            start += chunk;
            if (part.Length <= _lckv.IterativePasses)
                logits.AddRange(part.Select(id => Step(cache, id)));
            else
                logits.AddRange(Parallel(cache, part));
        }
        return [.. logits];
    }

    // One position through every layer, bottom to top; stored layers append their KV as they run.
    private double[] Step(Cache cache, int id)
    {
        int p = cache.Length;
        var h = _m.Embed(id);
        for (int i = 0; i < _c.NumLayers; i++)
        {
            string pre = $"model.layers.{i}.";
            var x = _m.Norm(h, pre + "input_layernorm.weight");
            var q = _m.Linear(x, pre + "self_attn.q_proj");
            _m.RotateHeads(q, p);
            if (cache.Keys.TryGetValue(i, out var ownKeys))
            {
                var k = _m.Linear(x, pre + "self_attn.k_proj");
                _m.RotateHeads(k, p);
                ownKeys.Add(k);
                cache.Values[i].Add(_m.Linear(x, pre + "self_attn.v_proj"));
            }
            int src = _lckv.LayerTypes.Sources[i];
            var o = _lckv.ReleasedDecode && _lckv.Condensation.AttendsTop(i)
                ? AttendReleased(q, cache.Keys[src], cache.Values[src], p, _lckv.Window(i))
                : AttendStored(q, cache, i, src, p);
            ReferenceWeights.Add(h, _m.Linear(o, pre + "self_attn.o_proj"));
            ReferenceWeights.Add(h, _m.Mlp(_m.Norm(h, pre + "post_attention_layernorm.weight"), pre));
        }
        cache.Length++;
        return _m.Head(h);
    }

    // The parallel forward of lckv.py over the chunk's S tokens at positions cache.Length.., with cyclic blocks
    // iterated R times; commits the last pass's KV.
    private double[][] Parallel(Cache cache, int[] ids)
    {
        int p0 = cache.Length, s = ids.Length, kvWidth = _c.NumKvHeads * _c.HeadDim;
        var h = ids.Select(_m.Embed).ToArray();                                    // [S][H]
        var fresh = new Dictionary<int, (double[][] K, double[][] V)>();           // stored layer -> this chunk's KV
        var blocks = _lckv.Condensation.CyclicBlocks.ToDictionary(b => b.Start, b => b.End);
        for (int i = 0; i < _c.NumLayers;)
        {
            if (!blocks.TryGetValue(i, out int end))
            {
                h = Layer(cache, i, h, fresh, pending: null);
                i++;
                continue;
            }
            // 1) the block's targets start as zeros; 2) R passes from the same input; 3) keep the last pass
            var targets = Enumerable.Range(i, end - i + 1).Where(_lckv.Condensation.AttendsTop).Select(j => _lckv.LayerTypes.Sources[j]).Distinct();
            var pending = targets.ToDictionary(t => t, _ => (Zeros(s, kvWidth), Zeros(s, kvWidth)));
            var input = h;
            for (int r = 0; r < _lckv.IterativePasses; r++)
            {
                var passKv = new Dictionary<int, (double[][] K, double[][] V)>(fresh);
                h = input;
                for (int j = i; j <= end; j++) h = Layer(cache, j, h, passKv, pending);
                pending = pending.Keys.ToDictionary(t => t, t => passKv[t]);
                if (r == _lckv.IterativePasses - 1) fresh = passKv;
            }
            i = end + 1;
        }
        foreach (var (layer, (k, v)) in fresh)
        {
            cache.Keys[layer].AddRange(k);
            cache.Values[layer].AddRange(v);
        }
        cache.Length += s;
        return [.. h.Select(_m.Head)];
    }

    // Layer i over all chunk positions. Keys of the source: committed positions < p0 from the cache, chunk
    // positions from this pass (source at or below i) or from pending (source above i).
    private double[][] Layer(Cache cache, int i, double[][] h, Dictionary<int, (double[][] K, double[][] V)> fresh,
        Dictionary<int, (double[][] K, double[][] V)>? pending)
    {
        int p0 = cache.Length, s = h.Length;
        string pre = $"model.layers.{i}.";
        var x = h.Select(r => _m.Norm(r, pre + "input_layernorm.weight")).ToArray();
        var q = x.Select(r => _m.Linear(r, pre + "self_attn.q_proj")).ToArray();
        for (int j = 0; j < s; j++) _m.RotateHeads(q[j], p0 + j);
        if (cache.Keys.ContainsKey(i))
        {
            var k = x.Select(r => _m.Linear(r, pre + "self_attn.k_proj")).ToArray();
            for (int j = 0; j < s; j++) _m.RotateHeads(k[j], p0 + j);
            fresh[i] = (k, x.Select(r => _m.Linear(r, pre + "self_attn.v_proj")).ToArray());
        }
        int src = _lckv.LayerTypes.Sources[i];
        var (newK, newV) = src > i ? pending![src] : fresh[src];
        var output = new double[s][];
        for (int j = 0; j < s; j++)
        {
            int p = p0 + j;
            var keys = new List<double[]>();
            var values = new List<double[]>();
            for (int key = 0; key < p0 + s; key++)
            {
                bool causal = _lckv.NoDiagonal(i) ? key < p : key <= p;
                bool inWindow = _lckv.Window(i) is not { } w || p - key < w;
                if (!causal || !inWindow) continue;
                keys.Add(key < p0 ? cache.Keys[src][key] : newK[key - p0]);
                values.Add(key < p0 ? cache.Values[src][key] : newV[key - p0]);
            }
            var row = (double[])h[j].Clone();
            ReferenceWeights.Add(row, _m.Linear(Attend(q[j], keys, values), pre + "self_attn.o_proj"));
            ReferenceWeights.Add(row, _m.Mlp(_m.Norm(row, pre + "post_attention_layernorm.weight"), pre));
            output[j] = row;
        }
        return output;
    }

    // The paper: positions [lo, hi) of the source's stored KV.
    private double[] AttendStored(double[] q, Cache cache, int i, int src, int p)
    {
        int hi = _lckv.NoDiagonal(i) ? p : p + 1;
        int lo = _lckv.Window(i) is { } w ? Math.Max(0, p - w + 1) : 0;
        var keys = cache.Keys[src];
        if (hi > keys.Count) throw new InvalidOperationException($"layer {i} reads layer {src} position {hi - 1} before it exists");
        return Attend(q, keys.GetRange(lo, Math.Max(hi - lo, 0)), cache.Values[src].GetRange(lo, Math.Max(hi - lo, 0)));
    }

    // whyNLP/LCKV's released eager code with one query token, for a layer reading a higher layer: keys
    // [zero, 0..p-1] (layer_get zerofill), the last column masked (no diagonal), and with a window W the columns
    // at or below p - W masked: the placeholder while p < W, then positions max(0, p - W) .. p - 2.
    private double[] AttendReleased(double[] q, List<double[]> keys, List<double[]> values, int p, int? window)
    {
        int lo = window is { } w ? Math.Max(0, p - w) : 0, hi = Math.Max(p - 1, lo);
        var zero = new double[_c.NumKvHeads * _c.HeadDim];
        bool placeholder = window is not { } win || p < win;
        List<double[]> k = [.. placeholder ? [zero] : Array.Empty<double[]>(), .. keys.GetRange(lo, hi - lo)];
        List<double[]> v = [.. placeholder ? [zero] : Array.Empty<double[]>(), .. values.GetRange(lo, hi - lo)];
        return Attend(q, k, v);
    }

    // Softmax attention of one query [H·D] over keys/values [n][Hkv·D] with GQA; no keys gives exactly 0.
    private double[] Attend(double[] q, IReadOnlyList<double[]> keys, IReadOnlyList<double[]> values)
    {
        int d = _c.HeadDim, heads = _c.NumHeads, group = _c.NumHeads / _c.NumKvHeads;
        var o = new double[heads * d];
        if (keys.Count == 0) return o;
        for (int hh = 0; hh < heads; hh++)
        {
            int kvOff = hh / group * d;
            var scores = new double[keys.Count];
            for (int j = 0; j < keys.Count; j++)
            {
                double dot = 0;
                for (int e = 0; e < d; e++) dot += q[hh * d + e] * keys[j][kvOff + e];
                scores[j] = dot / Math.Sqrt(d);
            }
            double max = scores.Max(), sum = 0;
            for (int j = 0; j < scores.Length; j++) { scores[j] = Math.Exp(scores[j] - max); sum += scores[j]; }
            for (int j = 0; j < scores.Length; j++)
                for (int e = 0; e < d; e++) o[hh * d + e] += scores[j] / sum * values[j][kvOff + e];
        }
        return o;
    }

    private static double[][] Zeros(int rows, int width) => [.. Enumerable.Range(0, rows).Select(_ => new double[width])];

    /// <summary>Stored layers' KV per position ([Hkv·D] rows, keys after RoPE) and the committed length.</summary>
    private sealed class Cache(IEnumerable<int> stored)
    {
        public Dictionary<int, List<double[]>> Keys { get; } = stored.ToDictionary(l => l, _ => new List<double[]>());
        public Dictionary<int, List<double[]>> Values { get; } = stored.ToDictionary(l => l, _ => new List<double[]>());
        public int Length { get; set; }
    }
}
