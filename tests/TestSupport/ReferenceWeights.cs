using Condensa.Export;

namespace Condensa.TestSupport;

/// <summary>
/// A checkpoint's config and weights in float64 with the float64 building blocks of the reference forward passes
/// (<see cref="ReferenceModel"/>, <see cref="LckvReferenceModel"/>): RMSNorm, nn.Linear, rotate_half RoPE,
/// SiLU MLP, lm_head. Rope inverse frequencies are computed here independently of the exporter.
/// </summary>
public sealed class ReferenceWeights
{
    private readonly HfConfig _c;
    private readonly double[] _invFreq;
    private readonly Dictionary<string, double[]> _w = [];

    /// <summary>Loads config.json and the safetensors of <paramref name="checkpointDir"/>.</summary>
    public ReferenceWeights(string checkpointDir)
    {
        _c = HfConfig.Load(checkpointDir);
        using var reader = SafeTensorsReader.Open(checkpointDir);
        foreach (string name in reader.TensorNames)
            _w[name] = Array.ConvertAll(reader.ReadFloat32(name), v => (double)v);
        _invFreq = InverseFrequencies();
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

    // rotate_half: (x1, x2) -> (x1·cos - x2·sin, x2·cos + x1·sin) with the same frequency for i and i + D/2.
    /// <summary>Rotates every head of x (heads of D) in place by position.</summary>
    public void RotateHeads(double[] x, int position)
    {
        for (int off = 0; off < x.Length; off += _c.HeadDim) Rotate(x, off, position);
    }

    /// <summary>Rotates one head at offset in place.</summary>
    public void Rotate(double[] x, int offset, int position)
    {
        int half = _c.HeadDim / 2;
        for (int i = 0; i < half; i++)
        {
            double angle = position * _invFreq[i], cos = Math.Cos(angle), sin = Math.Sin(angle);
            double x1 = x[offset + i], x2 = x[offset + half + i];
            x[offset + i] = x1 * cos - x2 * sin;
            x[offset + half + i] = x2 * cos + x1 * sin;
        }
    }

    private double[] InverseFrequencies()
    {
        var r = _c.Rope;
        int d = _c.HeadDim;
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
