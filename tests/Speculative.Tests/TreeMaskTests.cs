using Condensa.TestSupport;

namespace Condensa.Speculative.Tests;

[TestClass]
public sealed class TreeMaskTests
{
    /// <summary>
    ///        0 (root, token 10)
    ///      /   \
    ///     1     2        tokens 11, 12
    ///    / \     \
    ///   3   4     5      tokens 13, 14, 15
    ///   |
    ///   6                token 16
    /// </summary>
    private static TokenTree HandMade()
    {
        var tree = new TokenTree(8);
        tree.Reset(10);
        foreach (var (parent, token) in new[] { (0, 11), (0, 12), (1, 13), (1, 14), (2, 15), (3, 16) }) tree.Add(parent, token);
        return tree;
    }

    [TestMethod]
    public void Flatten_HandMadeTree_TokensPositionsAndAncestorsOrSelf()
    {
        var tree = HandMade();
        const int seqLen = 7, start = 5;
        var tokens = new int[seqLen];
        var positions = new long[seqLen];
        var visibility = new bool[seqLen * seqLen];
        TreeMask.Flatten([tree], [seqLen], [start], seqLen, tokens, positions, visibility);

        CollectionAssert.AreEqual(new[] { 10, 11, 12, 13, 14, 15, 16 }, tokens);
        CollectionAssert.AreEqual(new long[] { 5, 6, 6, 7, 7, 7, 8 }, positions);
        string[] expected =
        [
            "1000000",
            "1100000",
            "1010000",
            "1101000",
            "1100100",
            "1010010",
            "1101001",
        ];
        for (var j = 0; j < seqLen; j++)
            Assert.AreEqual(expected[j], string.Concat(visibility.AsSpan(j * seqLen, seqLen).ToArray().Select(v => v ? '1' : '0')), $"node {j}");
    }

    [TestMethod]
    public void Flatten_ThenAttentionMask_IsPrefixThenAncestorsOrSelf()
    {
        // Two rows: the hand-made tree after 3 cached tokens, and a 2-node chain after 1, padded to 7.
        var chain = new TokenTree(4);
        chain.Reset(20);
        chain.Add(0, 21);
        const int seqLen = 7, capacity = 4;
        int[] counts = [7, 2], lengths = [3, 1];
        var tokens = new int[2 * seqLen];
        var positions = new long[2 * seqLen];
        var visibility = new bool[2 * seqLen * seqLen];
        TreeMask.Flatten([HandMade(), chain], counts, lengths, seqLen, tokens, positions, visibility);
        var (spans, fresh) = (new long[2 * seqLen * 2], new float[2 * seqLen * seqLen]);
        AttentionMask.Build(spans, fresh, lengths, counts, seqLen, null, visibility, positions);
        var bias = DenseMask.Expand(spans, fresh, batch: 2, seqLen, capacity);

        string Row(int b, int j) => string.Concat(bias.AsSpan((b * seqLen + j) * (capacity + seqLen), capacity + seqLen).ToArray()
            .Select(v => v == 0f ? '1' : '0'));
        // [cache slots | new tokens]
        Assert.AreEqual("1110" + "1101001", Row(0, 6));   // node 6 sees the prefix, 0, 1, 3 and itself
        Assert.AreEqual("1110" + "1010010", Row(0, 5));
        Assert.AreEqual("1000" + "1100000", Row(1, 1));
        Assert.AreEqual("0000" + "0000000", Row(1, 2));   // padding sees nothing
        CollectionAssert.AreEqual(new long[] { 1, 2, 2, 2, 2, 2, 2 }, positions[seqLen..]);
    }

    [TestMethod]
    public void TokenTree_AddOutOfLevelOrder_Throws()
    {
        var tree = HandMade();
        Assert.ThrowsExactly<ArgumentException>(() => tree.Add(2, 99));   // node 6's parent is 3: a child of 2 now breaks breadth-first order
    }

    [TestMethod]
    public void TokenTree_Truncate_KeepsABreadthFirstPrefix()
    {
        var tree = HandMade();
        tree.Truncate(4);
        Assert.AreEqual(4, tree.Count);
        Assert.AreEqual(1, tree.ChildCount(1));
        Assert.AreEqual(0, tree.ChildCount(2));
        var path = new int[4];
        Assert.AreEqual(2, tree.PathTokens(3, path));
        CollectionAssert.AreEqual(new[] { 11, 13 }, path[..2]);
    }
}
