using Condensa.Export;

namespace Condensa.TestSupport;

/// <summary>
/// The oracle: a float64 forward pass of a Llama-family checkpoint written the way transformers' modeling
/// code reads (RMSNorm, rotate_half RoPE, causal softmax attention with GQA, SiLU MLP), one token and one
/// head at a time, with no cache. A bias is used whenever the checkpoint has one. Rope inverse frequencies
/// are computed here independently of the exporter.
/// </summary>
public sealed class ReferenceModel
{
    private readonly HfConfig _c;
    private readonly int? _window;
    private readonly double[] _invFreq;
    private readonly Dictionary<string, double[]> _w = [];

    /// <summary>Loads the checkpoint in <paramref name="checkpointDir"/>.</summary>
    /// <param name="checkpointDir">Folder with config.json and safetensors.</param>
    /// <param name="slidingWindow">Keys older than this many positions are masked (Mistral), or null.</param>
    public ReferenceModel(string checkpointDir, int? slidingWindow = null)
    {
        _c = HfConfig.Load(checkpointDir);
        _window = slidingWindow;
        using var reader = SafeTensorsReader.Open(checkpointDir);
        foreach (string name in reader.TensorNames)
            _w[name] = Array.ConvertAll(reader.ReadFloat32(name), v => (double)v);
        _invFreq = InverseFrequencies();
    }

    /// <summary>The parsed config.json.</summary>
    public HfConfig Config => _c;

    /// <summary>Logits [S][V] of a causal forward over <paramref name="ids"/> at positions 0..S-1.</summary>
    public double[][] Logits(IReadOnlyList<int> ids)
    {
        int s = ids.Count, hd = _c.HiddenSize;
        var x = new double[s][];
        for (int t = 0; t < s; t++) x[t] = _w["model.embed_tokens.weight"].AsSpan(ids[t] * hd, hd).ToArray();

        for (int l = 0; l < _c.NumLayers; l++)
        {
            string p = $"model.layers.{l}.";
            var h = x.Select(r => Norm(r, p + "input_layernorm.weight")).ToArray();
            var attn = Attention(h, p + "self_attn.");
            for (int t = 0; t < s; t++) Add(x[t], attn[t]);
            h = x.Select(r => Norm(r, p + "post_attention_layernorm.weight")).ToArray();
            for (int t = 0; t < s; t++)
            {
                var gate = Linear(h[t], p + "mlp.gate_proj");
                var up = Linear(h[t], p + "mlp.up_proj");
                for (int i = 0; i < gate.Length; i++) gate[i] = gate[i] / (1 + Math.Exp(-gate[i])) * up[i];
                Add(x[t], Linear(gate, p + "mlp.down_proj"));
            }
        }

        string head = _c.TieWordEmbeddings || !_w.ContainsKey("lm_head.weight") ? "model.embed_tokens.weight" : "lm_head.weight";
        return x.Select(r => MatVec(_w[head], Norm(r, "model.norm.weight"))).ToArray();
    }

    private double[][] Attention(double[][] h, string p)
    {
        int s = h.Length, d = _c.HeadDim, heads = _c.NumHeads, group = _c.NumHeads / _c.NumKvHeads;
        var q = h.Select(r => Linear(r, p + "q_proj")).ToArray();
        var k = h.Select(r => Linear(r, p + "k_proj")).ToArray();
        var v = h.Select(r => Linear(r, p + "v_proj")).ToArray();
        for (int t = 0; t < s; t++)
        {
            for (int hh = 0; hh < heads; hh++) Rotate(q[t], hh * d, t);
            for (int hh = 0; hh < _c.NumKvHeads; hh++) Rotate(k[t], hh * d, t);
        }

        var outRows = new double[s][];
        for (int t = 0; t < s; t++)
        {
            var o = new double[heads * d];
            for (int hh = 0; hh < heads; hh++)
            {
                int kvOff = hh / group * d;   // repeat_kv: query head hh reads KV head hh / group
                var scores = new double[t + 1];
                double max = double.NegativeInfinity;
                for (int j = 0; j <= t; j++)
                {
                    if (_window is { } w && t - j >= w) { scores[j] = double.NegativeInfinity; continue; }
                    double dot = 0;
                    for (int i = 0; i < d; i++) dot += q[t][hh * d + i] * k[j][kvOff + i];
                    scores[j] = dot / Math.Sqrt(d);
                    max = Math.Max(max, scores[j]);
                }
                double sum = 0;
                for (int j = 0; j <= t; j++) { scores[j] = Math.Exp(scores[j] - max); sum += scores[j]; }
                for (int j = 0; j <= t; j++)
                    for (int i = 0; i < d; i++) o[hh * d + i] += scores[j] / sum * v[j][kvOff + i];
            }
            outRows[t] = Linear(o, p + "o_proj");
        }
        return outRows;
    }

    // rotate_half: (x1, x2) -> (x1·cos - x2·sin, x2·cos + x1·sin) with the same frequency for i and i + D/2.
    private void Rotate(double[] x, int offset, int position)
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

    private double[] Norm(double[] x, string weight)
    {
        double ms = x.Sum(v => v * v) / x.Length;
        double inv = 1 / Math.Sqrt(ms + _c.RmsNormEps);
        var w = _w[weight];
        return x.Select((v, i) => v * inv * w[i]).ToArray();
    }

    private double[] Linear(double[] x, string prefix)
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

    private static void Add(double[] acc, double[] x)
    {
        for (int i = 0; i < acc.Length; i++) acc[i] += x[i];
    }
}
