using static Condensa.Speculative.Tests.MarkovPair;

namespace Condensa.Speculative.Tests;

[TestClass]
public sealed class TreeVerifierTests
{
    public TestContext TestContext { get; set; } = null!;


    /// <summary>Root (token 0) with children 1, 2; node 1 has children 3, 4; node 2 has child 1. Shape [-1, 0, 0, 1, 1, 2].</summary>
    private static readonly int[] Shape = [-1, 0, 0, 1, 1, 2];

    [TestMethod]
    [DataRow(new[] { 1, 4, 0, 0, 0, 0 }, new[] { 0, 1, 4 }, 0)]   // argmax 1 at the root, 4 after it (node 4), bonus from node 4
    [DataRow(new[] { 2, 0, 1, 0, 0, 3 }, new[] { 0, 2, 5 }, 3)]   // second child 2, then its child 1 (node 5), bonus 3
    [DataRow(new[] { 3, 0, 0, 0, 0, 0 }, new[] { 0 }, 3)]         // no child matches: the argmax replaces them
    [DataRow(new[] { 1, 2, 0, 0, 0, 0 }, new[] { 0, 1 }, 2)]      // node 1's children are 3, 4: 2 is the correction
    public void Verify_OneHotTarget_FollowsTheArgmaxPath(int[] argmaxPerNode, int[] expectedPath, int expectedNext)
    {
        var tree = Tree(0, [1, 2, 3, 4, 1]);
        var p = new float[tree.Count * V];
        for (var i = 0; i < tree.Count; i++) p[i * V + argmaxPerNode[i]] = 1f;
        var path = new int[tree.Count];
        var length = TreeVerifier.Verify(tree, p, null, [], V, new Random(1), new float[2 * V], path, out var next);
        CollectionAssert.AreEqual(expectedPath, path[..length]);
        Assert.AreEqual(expectedNext, next);

        // the greedy walk reads only the argmax tokens and must take the same path
        var greedyPath = new int[tree.Count];
        var greedyLength = TreeVerifier.VerifyGreedy(tree, argmaxPerNode, greedyPath, out var greedyNext);
        CollectionAssert.AreEqual(expectedPath, greedyPath[..greedyLength]);
        Assert.AreEqual(expectedNext, greedyNext);
    }

    [TestMethod]
    public void Verify_LawAskedOnlyForVisitedNodes()
    {
        var tree = Tree(0, [1, 2, 3, 4, 1]);
        var p = new float[tree.Count * V];
        for (var i = 0; i < tree.Count; i++) p[i * V + (i == 0 ? 2 : 0)] = 1f;   // accept node 2, then reject its child
        var asked = new List<int>();
        TreeVerifier.Verify(tree, p, (node, logits, law) => { asked.Add(node); logits.CopyTo(law); }, [], V, new Random(1), new float[2 * V],
            new int[tree.Count], out _);
        CollectionAssert.AreEqual(new[] { 0, 2 }, asked);
    }

    [TestMethod]
    public void Verify_Sampling_PreservesTargetJointDistribution()
    {
        var (observed, expected) = Simulate(Mode.Lossless);
        Assert.IsLessThan(DistributionStatistics.ChiSquareCritical(expected.Length - 1), DistributionStatistics.ChiSquare(observed, expected), "chi-square of the 3-token joint");
        for (var position = 0; position < 3; position++)
            Assert.IsLessThan(0.01, DistributionStatistics.MarginalTotalVariation(observed, expected, position, V), $"marginal of token {position + 1}");
    }

    [TestMethod]
    [DataRow(Mode.SlightlyBiased)]
    [DataRow(Mode.SiblingsWithReplacement)]
    public void Verify_DistributionTest_DetectsAWrongVerifier(Mode mode)
    {
        // The same statistics must reject small mistakes: 2% of corrected or bonus tokens moved to a neighbour (about a
        // 1% shift), or siblings drafted independently while the verifier assumes they were drawn without replacement.
        var (observed, expected) = Simulate(mode);
        var chi = DistributionStatistics.ChiSquare(observed, expected);
        var tv = Enumerable.Range(0, 3).Max(position => DistributionStatistics.MarginalTotalVariation(observed, expected, position, V));
        Assert.IsTrue(chi > DistributionStatistics.ChiSquareCritical(expected.Length - 1) || tv > 0.01, $"{mode} went unnoticed (chi {chi:F1}, tv {tv:F4})");
        TestContext.WriteLine($"{mode}: chi-square {chi:F1} (critical {DistributionStatistics.ChiSquareCritical(expected.Length - 1):F1}), max marginal TV {tv:F4}");
    }

    public enum Mode { Lossless, SlightlyBiased, SiblingsWithReplacement }

    /// <summary>Generates 3 tokens after token 0 by tree rounds (the shape above, children drawn without replacement)
    /// 200k times; returns counts and exact probabilities of the 125 sequences.</summary>
    private static (double[] Observed, double[] Expected) Simulate(Mode mode)
    {
        const int trials = 200_000;
        var random = new Random(12345);
        var observed = new double[V * V * V];
        var tree = new TokenTree(Shape.Length);
        var p = new float[Shape.Length * V];
        var q = new float[Shape.Length * V];
        var scratch = new float[2 * V];
        var law = new float[V];
        var path = new int[Shape.Length];
        var sequence = new List<int>(8);
        for (var t = 0; t < trials; t++)
        {
            sequence.Clear();
            var last = 0;
            while (sequence.Count < 3)
            {
                // 1) draft: level by level, each node's children drawn from q without replacement
                tree.Reset(last);
                for (var s = 1; s < Shape.Length; s++)
                {
                    var parent = Shape[s];
                    if (parent >= tree.Count) continue;   // the parent could not be drafted
                    var token = tree.Tokens[parent];
                    for (var x = 0; x < V; x++) law[x] = (float)Q[token, x];
                    if (mode != Mode.SiblingsWithReplacement)
                        foreach (var sibling in tree.Children(parent) is var r ? Enumerable.Range(r.Start.Value, r.End.Value - r.Start.Value) : [])
                            law[tree.Tokens[sibling]] = 0f;
                    tree.Add(parent, DistributionStatistics.Sample(law, random));
                }
                for (var i = 0; i < tree.Count; i++)
                for (var x = 0; x < V; x++)
                    (p[i * V + x], q[i * V + x]) = ((float)P[tree.Tokens[i], x], (float)Q[tree.Tokens[i], x]);

                // 2) verify and extend the sequence with the accepted path and the next token
                var length = TreeVerifier.Verify(tree, p, null, q, V, random, scratch, path, out var next);
                if (mode == Mode.SlightlyBiased && random.NextDouble() < 0.02) next = (next + 1) % V;
                for (var i = 1; i < length; i++) sequence.Add(tree.Tokens[path[i]]);
                sequence.Add(next);
                last = next;
            }
            observed[(sequence[0] * V + sequence[1]) * V + sequence[2]]++;
        }
        return (observed, ExpectedCounts(trials));
    }

    private static TokenTree Tree(int root, int[] tokens)
    {
        var tree = new TokenTree(Shape.Length);
        tree.Reset(root);
        for (var i = 1; i < Shape.Length; i++) tree.Add(Shape[i], tokens[i - 1]);
        return tree;
    }

    /// <summary>Draws from unnormalised weights.</summary>
}
