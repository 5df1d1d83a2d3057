using Condensa.Export;

namespace Condensa.TestSupport;

/// <summary>
/// A checkpoint's config and weights in float64 with the float64 building blocks of the reference forward passes
/// (<see cref="ReferenceModel"/>, <see cref="LckvReferenceModel"/>): RMSNorm, nn.Linear, rotate_half RoPE,
/// SiLU MLP, lm_head. Rope inverse frequencies are computed here independently of the exporter. Phi-3's fused
/// <c>qkv_proj</c> and <c>gate_up_proj</c> are read as the separate projections; its partial rotary factor rotates the first
/// dims of each head only, and longrope rotates with its short or long factors (<see cref="Rotate"/>), cos and sin times
/// the attention factor.
/// </summary>
public sealed class ReferenceWeights
{
    private readonly HfConfig _c;
    private readonly double[] _invFreq;
    private readonly double[] _longInvFreq;   // longrope's long factors; empty for the other rope types
    private readonly double _ropeScale;        // longrope's attention factor, else 1
    private readonly Dictionary<string, double[]> _w = [];

    /// <summary>Loads config.json and the safetensors of <paramref name="checkpointDir"/>.</summary>
    public ReferenceWeights(string checkpointDir)
    {
        _c = HfConfig.Load(checkpointDir);
        using var reader = SafeTensorsReader.Open(checkpointDir);
        foreach (string name in reader.TensorNames)
            _w[name] = Array.ConvertAll(reader.ReadFloat32(name), v => (double)v);
        SplitFused();
        _invFreq = InverseFrequencies();
        (_longInvFreq, _ropeScale) = _c.Rope.Type == "longrope"
            ? (LongropeFrequencies(_c.Rope.LongFactor!), LongropeScale())
            : ([], 1.0);
    }

    // Phi-3: qkv_proj.weight is [q; k; v] rows and gate_up_proj.weight [gate; up] rows of the separate projections.
    private void SplitFused()
    {
        int hidden = _c.HiddenSize, q = _c.NumHeads * _c.HeadDim, kv = _c.NumKvHeads * _c.HeadDim, inter = _c.IntermediateSize;
        for (int l = 0; l < _c.NumLayers; l++)
        {
            string p = $"model.layers.{l}.";
            if (_w.Remove(p + "self_attn.qkv_proj.weight", out var qkv))
            {
                _w[p + "self_attn.q_proj.weight"] = qkv[..(q * hidden)];
                _w[p + "self_attn.k_proj.weight"] = qkv[(q * hidden)..((q + kv) * hidden)];
                _w[p + "self_attn.v_proj.weight"] = qkv[((q + kv) * hidden)..];
            }
            if (_w.Remove(p + "mlp.gate_up_proj.weight", out var gateUp))
            {
                _w[p + "mlp.gate_proj.weight"] = gateUp[..(inter * hidden)];
                _w[p + "mlp.up_proj.weight"] = gateUp[(inter * hidden)..];
            }
        }
    }

    /// <summary>The parsed config.json.</summary>
    public HfConfig Config => _c;

    /// <summary>Row <paramref name="id"/> of the embedding table, a copy.</summary>
    public double[] Embed(int id) => _w["model.embed_tokens.weight"].AsSpan(id * _c.HiddenSize, _c.HiddenSize).ToArray();

    /// <summary>Logits of a final hidden state: lm_head(norm(x)).</summary>
    public double[] Head(double[] x)
    {
        string head = _c.TieWordEmbeddings || !_w.ContainsKey("lm_head.weight") ? "model.embed_tokens.weight" : "lm_head.weight";
        return MatVec(_w[head], Norm(x, "model.norm.weight"));
    }

    /// <summary>down(silu(gate(h)) · up(h)) of layer prefix <paramref name="p"/> ("model.layers.{i}.").</summary>
    public double[] Mlp(double[] h, string p)
    {
        var gate = Linear(h, p + "mlp.gate_proj");
        var up = Linear(h, p + "mlp.up_proj");
        for (int i = 0; i < gate.Length; i++) gate[i] = gate[i] / (1 + Math.Exp(-gate[i])) * up[i];
        return Linear(gate, p + "mlp.down_proj");
    }

    /// <summary>Whether the checkpoint has a tensor (e.g. an LCKV layer's k_proj).</summary>
    public bool Has(string name) => _w.ContainsKey(name);

    // rotate_half over the R rotated dims of a head: (x1, x2) -> (x1·cos - x2·sin, x2·cos + x1·sin) with the same frequency
    // for i and i + R/2; dims R..D-1 pass through.
    /// <summary>Rotates every head of x (heads of D) in place by position; <paramref name="longFactors"/>: longrope's long
    /// factors (transformers' choice for a forward call whose largest position id reaches the original context).</summary>
    public void RotateHeads(double[] x, int position, bool longFactors = false)
    {
        for (int off = 0; off < x.Length; off += _c.HeadDim) Rotate(x, off, position, longFactors);
    }

    /// <summary>Rotates one head at offset in place.</summary>
    public void Rotate(double[] x, int offset, int position, bool longFactors = false)
    {
        var invFreq = longFactors ? _longInvFreq : _invFreq;
        int half = invFreq.Length;
        if (half == 0) throw new InvalidOperationException("long factors asked of a rope that has none");
        for (int i = 0; i < half; i++)
        {
            double angle = position * invFreq[i], cos = Math.Cos(angle) * _ropeScale, sin = Math.Sin(angle) * _ropeScale;
            double x1 = x[offset + i], x2 = x[offset + half + i];
            x[offset + i] = x1 * cos - x2 * sin;
            x[offset + half + i] = x2 * cos + x1 * sin;
        }
    }

    private double[] InverseFrequencies()
    {
        var r = _c.Rope;
        int d = _c.HeadDim;
        if (r.Type == "longrope") return LongropeFrequencies(r.ShortFactor!);
        var inv = Enumerable.Range(0, d / 2).Select(i => Math.Pow(r.Theta, -2.0 * i / d)).ToArray();
        if (r.Type == "linear") return inv.Select(f => f / r.Factor).ToArray();
        if (r.Type != "llama3") return inv;
        // Llama 3.1 reference code (apply_scaling): keep high frequencies, divide low ones, blend the band between.
        double lowWavelen = r.OriginalMaxPositionEmbeddings / r.LowFreqFactor;
        double highWavelen = r.OriginalMaxPositionEmbeddings / r.HighFreqFactor;
        return inv.Select(f =>
        {
            double wavelen = 2 * Math.PI / f;
            if (wavelen < highWavelen) return f;
            if (wavelen > lowWavelen) return f / r.Factor;
            double smooth = (r.OriginalMaxPositionEmbeddings / wavelen - r.LowFreqFactor) / (r.HighFreqFactor - r.LowFreqFactor);
            return (1 - smooth) * f / r.Factor + smooth * f;
        }).ToArray();
    }

    // transformers' _compute_longrope_parameters: 1 / (factor_i · base^(2i / R)) over the R = D · partial_rotary_factor rotated dims.
    private double[] LongropeFrequencies(double[] factors)
    {
        int rotary = (int)(_c.HeadDim * _c.Rope.PartialRotaryFactor);
        return [.. Enumerable.Range(0, rotary / 2).Select(i => 1.0 / (factors[i] * Math.Pow(_c.Rope.Theta, 2.0 * i / rotary)))];
    }

    // Its attention factor where config.json gives none: sqrt(1 + ln(max / original) / ln(original)), 1 when max <= original.
    private double LongropeScale()
    {
        double original = _c.Rope.OriginalMaxPositionEmbeddings, factor = _c.MaxPositionEmbeddings / original;
        return factor <= 1 ? 1.0 : Math.Sqrt(1 + Math.Log(factor) / Math.Log(original));
    }

    /// <summary>RMSNorm with the named weight.</summary>
    public double[] Norm(double[] x, string weight)
    {
        double ms = x.Sum(v => v * v) / x.Length;
        double inv = 1 / Math.Sqrt(ms + _c.RmsNormEps);
        var w = _w[weight];
        return x.Select((v, i) => v * inv * w[i]).ToArray();
    }

    /// <summary>nn.Linear: W x (+ bias) of the named projection.</summary>
    public double[] Linear(double[] x, string prefix)
    {
        var y = MatVec(_w[prefix + ".weight"], x);
        if (_w.TryGetValue(prefix + ".bias", out var b)) Add(y, b);
        return y;
    }

    // W is [out, in] row-major, as nn.Linear stores it.
    private static double[] MatVec(double[] w, double[] x)
    {
        int n = x.Length, m = w.Length / n;
        var y = new double[m];
        for (int r = 0; r < m; r++)
        {
            double acc = 0;
            for (int i = 0; i < n; i++) acc += w[r * n + i] * x[i];
            y[r] = acc;
        }
        return y;
    }

    /// <summary>acc += x.</summary>
    public static void Add(double[] acc, double[] x)
    {
        for (int i = 0; i < acc.Length; i++) acc[i] += x[i];
    }
}
