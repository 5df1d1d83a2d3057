using static Condensa.Speculative.Tests.MarkovPair;

namespace Condensa.Speculative.Tests;

[TestClass]
public sealed class ChainVerifierTests
{
    public TestContext TestContext { get; set; } = null!;


    [TestMethod]
    [DataRow(new[] { 1, 2, 3 }, new[] { 1, 2, 3, 4 }, 3, 4)]   // all match: bonus from the last row
    [DataRow(new[] { 1, 0, 3 }, new[] { 1, 2, 3, 4 }, 1, 2)]   // second draft wrong: the target's argmax replaces it
    [DataRow(new[] { 0, 2, 3 }, new[] { 1, 2, 3, 4 }, 0, 1)]
    public void Verify_OneHotTarget_AcceptsMatchingPrefixThenArgmax(int[] drafts, int[] argmax, int expectedAccepted, int expectedNext)
    {
        var p = new float[(drafts.Length + 1) * V];
        for (var i = 0; i < argmax.Length; i++) p[i * V + argmax[i]] = 1f;
        var accepted = ChainVerifier.Verify(p, [], drafts, V, new Random(1), new float[V], out var next);
        Assert.AreEqual(expectedAccepted, accepted);
        Assert.AreEqual(expectedNext, next);

        // the greedy path reads only the argmax tokens and must decide the same
        Assert.AreEqual(expectedAccepted, ChainVerifier.VerifyGreedy(argmax, drafts, out var greedyNext));
        Assert.AreEqual(expectedNext, greedyNext);
    }

    [TestMethod]
    public void VerifyGreedy_RandomChains_DecidesAsVerifyWithOneHotTargets()
    {
        var random = new Random(7);
        for (var trial = 0; trial < 500; trial++)
        {
            var n = random.Next(0, 6);
            var drafts = Enumerable.Range(0, n).Select(_ => random.Next(V)).ToArray();
            var argmax = Enumerable.Range(0, n + 1).Select(i => i < n && random.Next(3) > 0 ? drafts[i] : random.Next(V)).ToArray();
            var p = new float[(n + 1) * V];
            for (var i = 0; i <= n; i++) p[i * V + argmax[i]] = 1f;
            var expected = ChainVerifier.Verify(p, [], drafts, V, new Random(1), new float[V], out var expectedNext);
            Assert.AreEqual(expected, ChainVerifier.VerifyGreedy(argmax, drafts, out var next), $"trial {trial}");
            Assert.AreEqual(expectedNext, next, $"trial {trial}");
        }
    }

    [TestMethod]
    public void Verify_Sampling_PreservesTargetJointDistribution()
    {
        var (observed, expected) = Simulate(Verifier.Lossless);
        Assert.IsLessThan(DistributionStatistics.ChiSquareCritical(expected.Length - 1), DistributionStatistics.ChiSquare(observed, expected), "chi-square of the 3-token joint");
        for (var position = 0; position < 3; position++)
            Assert.IsLessThan(0.01, DistributionStatistics.MarginalTotalVariation(observed, expected, position, V), $"marginal of token {position + 1}");
    }

    [TestMethod]
    public void Verify_DistributionTest_DetectsAOnePercentBias()
    {
        // The same statistics must reject a verifier that is wrong by a little: 2% of its corrected or bonus tokens move
        // to a neighbouring token, about a 1% shift in total variation.
        var (observed, expected) = Simulate(Verifier.SlightlyBiased);
        var chi = DistributionStatistics.ChiSquare(observed, expected);
        var tv = Enumerable.Range(0, 3).Max(position => DistributionStatistics.MarginalTotalVariation(observed, expected, position, V));
        Assert.IsTrue(chi > DistributionStatistics.ChiSquareCritical(expected.Length - 1) || tv > 0.01, $"a 1% bias went unnoticed (chi {chi:F1}, tv {tv:F4})");
        TestContext.WriteLine($"biased verifier: chi-square {chi:F1} (critical {DistributionStatistics.ChiSquareCritical(expected.Length - 1):F1}), max marginal TV {tv:F4}");
    }

    private enum Verifier { Lossless, SlightlyBiased }

    /// <summary>Generates 3 tokens after token 0 by speculative rounds (γ = 2) 200k times; returns counts and exact
    /// probabilities of the 125 sequences. 200k draws put the standard error of each marginal below 0.0012.</summary>
    private static (double[] Observed, double[] Expected) Simulate(Verifier verifier)
    {
        const int trials = 200_000, gamma = 2;
        var random = new Random(12345);
        var observed = new double[V * V * V];
        var p = new float[(gamma + 1) * V];
        var q = new float[gamma * V];
        var drafts = new int[gamma];
        var residual = new float[V];
        var sequence = new List<int>(8);
        for (var t = 0; t < trials; t++)
        {
            sequence.Clear();
            var last = 0;
            while (sequence.Count < 3)
            {
                for (var i = 0; i < gamma; i++)
                {
                    var prev = i == 0 ? last : drafts[i - 1];
                    for (var x = 0; x < V; x++) q[i * V + x] = (float)Q[prev, x];
                    drafts[i] = DistributionStatistics.Sample(q.AsSpan(i * V, V), random);
                }
                for (var i = 0; i <= gamma; i++)
                {
                    var prev = i == 0 ? last : drafts[i - 1];
                    for (var x = 0; x < V; x++) p[i * V + x] = (float)P[prev, x];
                }
                var accepted = ChainVerifier.Verify(p, q, drafts, V, random, residual, out var next);
                if (verifier == Verifier.SlightlyBiased && random.NextDouble() < 0.02) next = (next + 1) % V;
                for (var i = 0; i < accepted; i++) sequence.Add(drafts[i]);
                sequence.Add(next);
                last = next;
            }
            observed[(sequence[0] * V + sequence[1]) * V + sequence[2]]++;
        }
        return (observed, ExpectedCounts(trials));
    }
}
