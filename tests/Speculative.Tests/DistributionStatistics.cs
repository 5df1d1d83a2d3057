namespace Condensa.Speculative.Tests;

/// <summary>
/// The statistics of the distribution tests: counts of 3-token sequences over a small vocabulary (cell =
/// (t1 * V + t2) * V + t3) against their exact probabilities, and an independent sampler for the simulations.
/// </summary>
internal static class DistributionStatistics
{
    /// <summary>Draws from unnormalised weights (independent of the code under test).</summary>
    public static int Sample(ReadOnlySpan<float> weights, Random random)
    {
        var total = 0.0;
        foreach (var w in weights) total += w;
        var u = random.NextDouble() * total;
        var cumulative = 0.0;
        for (var x = 0; x < weights.Length; x++)
        {
            cumulative += weights[x];
            if (u < cumulative) return x;
        }
        return weights.Length - 1;
    }

    /// <summary>Pearson's chi-square statistic.</summary>
    public static double ChiSquare(double[] observed, double[] expected) =>
        observed.Zip(expected, (o, e) => (o - e) * (o - e) / e).Sum();

    /// <summary>Critical value at p = 0.001 (Wilson-Hilferty approximation).</summary>
    public static double ChiSquareCritical(int dof)
    {
        const double z = 3.09;
        var h = 2.0 / (9 * dof);
        return dof * Math.Pow(1 - h + z * Math.Sqrt(h), 3);
    }

    /// <summary>Total variation between the observed and expected marginals of the token at <paramref name="position"/>.</summary>
    public static double MarginalTotalVariation(double[] observed, double[] expected, int position, int vocab)
    {
        var total = observed.Sum();
        var o = new double[vocab];
        var e = new double[vocab];
        for (var cell = 0; cell < observed.Length; cell++)
        {
            var token = position switch { 0 => cell / (vocab * vocab), 1 => cell / vocab % vocab, _ => cell % vocab };
            o[token] += observed[cell] / total;
            e[token] += expected[cell] / total;
        }
        return 0.5 * o.Zip(e, (a, b) => Math.Abs(a - b)).Sum();
    }
}
