namespace Condensa.Speculative.Tests;

/// <summary>The target p and draft q of the verifier distribution tests: Markov chains over 5 tokens (row = previous
/// token, column = next token), different enough that a biased verifier shows.</summary>
internal static class MarkovPair
{
    public const int V = 5;

    public static readonly double[,] P =
    {
        { 0.50, 0.20, 0.15, 0.10, 0.05 }, { 0.10, 0.40, 0.30, 0.10, 0.10 }, { 0.05, 0.05, 0.30, 0.30, 0.30 },
        { 0.25, 0.25, 0.25, 0.15, 0.10 }, { 0.30, 0.10, 0.10, 0.10, 0.40 },
    };

    public static readonly double[,] Q =
    {
        { 0.30, 0.30, 0.20, 0.10, 0.10 }, { 0.20, 0.20, 0.20, 0.20, 0.20 }, { 0.10, 0.10, 0.50, 0.20, 0.10 },
        { 0.40, 0.10, 0.10, 0.10, 0.30 }, { 0.05, 0.15, 0.20, 0.20, 0.40 },
    };

    /// <summary>Expected counts of each 3-token sequence after token 0 under p, over <paramref name="trials"/> draws,
    /// indexed (a * V + b) * V + c.</summary>
    public static double[] ExpectedCounts(int trials)
    {
        var expected = new double[V * V * V];
        for (var a = 0; a < V; a++)
        for (var b = 0; b < V; b++)
        for (var c = 0; c < V; c++)
            expected[(a * V + b) * V + c] = trials * P[0, a] * P[a, b] * P[b, c];
        return expected;
    }
}
