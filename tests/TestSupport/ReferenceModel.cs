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
    private readonly ReferenceWeights _m;
    private readonly HfConfig _c;
    private readonly int? _window;
    private readonly Func<int, int, bool>? _sees;

    /// <summary>Loads the checkpoint in <paramref name="checkpointDir"/>.</summary>
    /// <param name="checkpointDir">Folder with config.json and safetensors.</param>
    /// <param name="slidingWindow">Keys older than this many positions are masked (Mistral), or null.</param>
    /// <param name="sees">Whether the query at position t sees the key at position j &lt;= t (a budgeted cache's held
    /// positions), or null: every earlier key.</param>
    public ReferenceModel(string checkpointDir, int? slidingWindow = null, Func<int, int, bool>? sees = null)
    {
        _m = new ReferenceWeights(checkpointDir);
        _c = _m.Config;
        _window = slidingWindow;
        _sees = sees;
    }

    /// <summary>The parsed config.json.</summary>
    public HfConfig Config => _c;

    /// <summary>Logits [S][V] of a causal forward over <paramref name="ids"/> at positions 0..S-1. A longrope checkpoint
    /// rotates as one transformers forward call of them all would: with the long factors when S passes the original context.</summary>
    public double[][] Logits(IReadOnlyList<int> ids) =>
        Logits(ids, _c.Rope.Type == "longrope" && ids.Count > _c.Rope.OriginalMaxPositionEmbeddings ? 0 : int.MaxValue);

    /// <summary>
    /// Logits [S][V] of a causal forward over <paramref name="ids"/> at positions 0..S-1 where the tokens from position
    /// <paramref name="longFrom"/> on are rotated with longrope's long factors (their q and their cached k) and the earlier
    /// ones with the short factors: transformers' cached decoding of a longrope model, which picks the factors per forward
    /// call and never re-rotates a cached key, so a prompt within the original context followed by one token per call
    /// switches at position max(prompt length, original).
    /// </summary>
    public double[][] Logits(IReadOnlyList<int> ids, int longFrom) => Logits(ids, t => t >= longFrom);

    /// <summary>Logits [S][V] of a causal forward over <paramref name="ids"/> at positions 0..S-1, the token at position t
    /// rotated with longrope's long factors where <paramref name="longAt"/>(t), else the short ones (any rope: all short).</summary>
    public double[][] Logits(IReadOnlyList<int> ids, Func<int, bool> longAt)
    {
        int s = ids.Count;
        var x = new double[s][];
        for (int t = 0; t < s; t++) x[t] = _m.Embed(ids[t]);

        for (int l = 0; l < _c.NumLayers; l++)
        {
            string p = $"model.layers.{l}.";
            var h = x.Select(r => _m.Norm(r, p + "input_layernorm.weight")).ToArray();
            var attn = Attention(h, p + "self_attn.", longAt);
            for (int t = 0; t < s; t++) ReferenceWeights.Add(x[t], attn[t]);
            for (int t = 0; t < s; t++) ReferenceWeights.Add(x[t], _m.Mlp(_m.Norm(x[t], p + "post_attention_layernorm.weight"), p));
        }
        return x.Select(_m.Head).ToArray();
    }

    private double[][] Attention(double[][] h, string p, Func<int, bool> longAt)
    {
        int s = h.Length, d = _c.HeadDim, heads = _c.NumHeads, group = _c.NumHeads / _c.NumKvHeads;
        var q = h.Select(r => _m.Linear(r, p + "q_proj")).ToArray();
        var k = h.Select(r => _m.Linear(r, p + "k_proj")).ToArray();
        var v = h.Select(r => _m.Linear(r, p + "v_proj")).ToArray();
        for (int t = 0; t < s; t++)
        {
            _m.RotateHeads(q[t], t, longFactors: longAt(t));
            _m.RotateHeads(k[t], t, longFactors: longAt(t));
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
                    if (_window is { } w && t - j >= w || _sees?.Invoke(t, j) == false) { scores[j] = double.NegativeInfinity; continue; }
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
            outRows[t] = _m.Linear(o, p + "o_proj");
        }
        return outRows;
    }
}
