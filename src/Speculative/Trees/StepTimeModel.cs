namespace Condensa.Speculative.Trees;

/// <summary>
/// The time of one forward pass of B rows, S new tokens each, over a context of C slots:
/// t = Fixed + PerToken·B·S + PerContext·B·C + PerTokenContext·B·S·C (seconds). The terms are the weights read once
/// per pass, the per-token matmuls, reading the KV cache, and attention scores; a least-squares fit over a few
/// measured (B, S, C) points places a machine on that map, so trees can be sized for it.
/// </summary>
/// <param name="Fixed">Seconds per pass regardless of size (weights, launch).</param>
/// <param name="PerToken">Seconds per new token.</param>
/// <param name="PerContext">Seconds per cached slot per row.</param>
/// <param name="PerTokenContext">Seconds per new token per cached slot.</param>
public sealed record StepTimeModel(double Fixed, double PerToken, double PerContext, double PerTokenContext)
{
    /// <summary>Predicted seconds of a pass.</summary>
    public double Seconds(int batch, int tokens, int context) =>
        Fixed + PerToken * batch * tokens + PerContext * batch * context + PerTokenContext * (double)batch * tokens * context;

    /// <summary>Least-squares fit of the relative error (each sample weighted by 1/t², so that the many-row passes, whose
    /// seconds are largest, do not swamp the fixed cost the one-row passes show, as on a GPU where a pass is mostly fixed
    /// cost), with every coefficient kept non-negative (a term that would go negative is dropped and the rest refitted:
    /// time never falls as a pass grows).</summary>
    public static StepTimeModel Fit(IReadOnlyList<StepTimeSample> samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        if (samples.Count == 0) throw new ArgumentException("no samples to fit", nameof(samples));
        var used = new[] { true, true, true, true };
        while (true)
        {
            var w = Solve(samples, used);
            var worst = -1;
            for (var i = 0; i < 4; i++)
                if (used[i] && w[i] < 0 && (worst < 0 || w[i] < w[worst])) worst = i;
            if (worst < 0) return new StepTimeModel(w[0], w[1], w[2], w[3]);
            used[worst] = false;
        }
    }

    private static double[] Features(StepTimeSample s) =>
        [1, (double)s.Batch * s.Tokens, (double)s.Batch * s.Context, (double)s.Batch * s.Tokens * s.Context];

    /// <summary>Weighted normal equations over the used features, by Gaussian elimination with partial pivoting.</summary>
    private static double[] Solve(IReadOnlyList<StepTimeSample> samples, bool[] used)
    {
        var index = Enumerable.Range(0, 4).Where(i => used[i]).ToArray();
        var n = index.Length;
        var a = new double[n, n + 1];   // [n, n | rhs]
        foreach (var s in samples)
        {
            var x = Features(s);
            var weight = s.Seconds > 0 ? 1 / (s.Seconds * s.Seconds) : 1;
            for (var i = 0; i < n; i++)
            {
                for (var j = 0; j < n; j++) a[i, j] += weight * x[index[i]] * x[index[j]];
                a[i, n] += weight * x[index[i]] * s.Seconds;
            }
        }
        for (var col = 0; col < n; col++)
        {
            var pivot = col;
            for (var r = col + 1; r < n; r++) if (Math.Abs(a[r, col]) > Math.Abs(a[pivot, col])) pivot = r;
            for (var c = 0; c <= n; c++) (a[col, c], a[pivot, c]) = (a[pivot, c], a[col, c]);
            if (Math.Abs(a[col, col]) < 1e-300) continue;   // an unidentifiable term stays 0
            for (var r = 0; r < n; r++)
            {
                if (r == col) continue;
                var f = a[r, col] / a[col, col];
                for (var c = col; c <= n; c++) a[r, c] -= f * a[col, c];
            }
        }
        var w = new double[4];
        for (var i = 0; i < n; i++) w[index[i]] = Math.Abs(a[i, i]) < 1e-300 ? 0 : a[i, n] / a[i, i];
        return w;
    }
}

/// <summary>One measured pass: rows, new tokens per row, context slots, and seconds.</summary>
public sealed record StepTimeSample(int Batch, int Tokens, int Context, double Seconds);
