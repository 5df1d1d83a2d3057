namespace Condensa.Speculative.Tests;

[TestClass]
public sealed class TreeBuilderTests
{
    [TestMethod]
    [DataRow(new[] { 0.6, 0.2, 0.1 })]
    [DataRow(new[] { 0.8, 0.1 })]
    [DataRow(new[] { 0.3, 0.3, 0.3, 0.05 })]   // flat: wide trees win
    [DataRow(new[] { 0.95 })]                  // one child per node: chains only
    [DataRow(new[] { 0.5, 0.0, 0.4 })]         // not monotone: a zero rank is worth skipping over
    public void ExpectedTokens_SmallTrees_EqualsBruteForceOverAllTrees(double[] acceptance)
    {
        var builder = new TreeBuilder(acceptance, maxNodes: 8, maxDepth: 5);
        for (var m = 1; m <= 8; m++)
        for (var d = 0; d <= 5; d++)
        {
            var brute = BruteForce(acceptance, m, d);
            Assert.AreEqual(brute, builder.ExpectedTokens(m, d), 1e-12, $"G({m}, {d})");
            if (double.IsNegativeInfinity(brute)) continue;
            // The built tree is a real tree of that size and depth with that value.
            var shape = builder.Build(m, d);
            Assert.AreEqual(m, shape.Count);
            Assert.IsLessThanOrEqualTo(d, shape.Depth);
            Assert.AreEqual(brute, shape.ExpectedTokens(acceptance), 1e-12, $"tree of G({m}, {d}): {shape}");
        }
    }

    [TestMethod]
    public void Build_ChainAcceptance_IsAChain()
    {
        var shape = new TreeBuilder([0.9], maxNodes: 5, maxDepth: 6).Build(5, 6);
        CollectionAssert.AreEqual(new[] { -1, 0, 1, 2, 3 }, shape.Parents.ToArray());
    }

    [TestMethod]
    public void Build_DepthOne_IsAStarWithRankedChildren()
    {
        var shape = new TreeBuilder([0.5, 0.2, 0.1], maxNodes: 4, maxDepth: 1).Build(4, 1);
        CollectionAssert.AreEqual(new[] { -1, 0, 0, 0 }, shape.Parents.ToArray());
        Assert.AreEqual(1 + 0.5 + 0.2 + 0.1, shape.ExpectedTokens([0.5, 0.2, 0.1]), 1e-12);
    }

    [TestMethod]
    public void ExpectedTokens_MoreNodesOrDepth_NeverDecreases()
    {
        // Depth 3 or more: every size up to 40 fits 4 ranked children per node (1 + 4 + 16 + 64 nodes).
        var builder = new TreeBuilder([0.7, 0.15, 0.05, 0.02], maxNodes: 40, maxDepth: 8);
        for (var m = 2; m <= 40; m++)
        for (var d = 3; d <= 8; d++)
        {
            Assert.IsGreaterThanOrEqualTo(builder.ExpectedTokens(m - 1, d), builder.ExpectedTokens(m, d));
            Assert.IsGreaterThanOrEqualTo(builder.ExpectedTokens(m, d - 1), builder.ExpectedTokens(m, d));
        }
    }

    [TestMethod]
    public void Constructor_AcceptanceOutsideUnitInterval_Throws()
    {
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new TreeBuilder([1.2], 4, 2));
        Assert.ThrowsExactly<ArgumentException>(() => new TreeBuilder([], 4, 2));
    }

    /// <summary>The best value over every ordered tree with exactly m nodes and depth at most d (children ranked in order).</summary>
    private static double BruteForce(double[] p, int m, int d)
    {
        var best = double.NegativeInfinity;
        foreach (var value in Trees(p, m, d)) best = Math.Max(best, value);
        return best;
    }

    /// <summary>Values of all trees of m nodes, depth &lt;= d: 1 + sum over the ranked children of p[rank]·value(child).</summary>
    private static IEnumerable<double> Trees(double[] p, int m, int d)
    {
        if (m == 1) { yield return 1; yield break; }
        if (d == 0) yield break;
        foreach (var forest in Forests(p, m - 1, d - 1, rank: 0)) yield return 1 + forest;
    }

    /// <summary>Values of ordered forests of n nodes whose first tree is the child of the given rank.</summary>
    private static IEnumerable<double> Forests(double[] p, int n, int d, int rank)
    {
        if (n == 0) { yield return 0; yield break; }
        if (rank >= p.Length) yield break;
        for (var first = 1; first <= n; first++)
            foreach (var head in Trees(p, first, d))
            foreach (var rest in Forests(p, n - first, d, rank + 1))
                yield return p[rank] * head + rest;
    }
}
