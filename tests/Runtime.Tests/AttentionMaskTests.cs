namespace Condensa.Runtime.Tests;

[TestClass]
public sealed class AttentionMaskTests
{
    private const float X = GraphNames.MaskValue;

    [TestMethod]
    public void Build_Decode_AdmitsCachedPrefixAndSelf()
    {
        // capacity 4, row holds 2 tokens, one new token
        var bias = new float[1 * 1 * (4 + 1)];
        AttentionMask.Build(bias, [2], [1], seqLen: 1, capacity: 4);
        CollectionAssert.AreEqual(new[] { 0f, 0f, X, X, 0f }, bias);
    }

    [TestMethod]
    public void Build_RaggedPrefill_CausalRowsAndBlockedPadding()
    {
        // two rows, capacity 2, seqLen 3: row 0 has 3 new tokens and 1 cached, row 1 has 1 new token
        var bias = new float[2 * 3 * 5];
        AttentionMask.Build(bias, [1, 0], [3, 1], seqLen: 3, capacity: 2);
        float[] expected =
        [
            0, X, 0, X, X,
            0, X, 0, 0, X,
            0, X, 0, 0, 0,
            X, X, 0, X, X,
            X, X, X, X, X,
            X, X, X, X, X,
        ];
        CollectionAssert.AreEqual(expected, bias);
    }

    [TestMethod]
    public void Build_SlidingWindow_DropsOldSlots()
    {
        // 5 cached, one new at position 5, window 3 -> positions 3, 4 and itself
        var bias = new float[6 + 1];
        AttentionMask.Build(bias, [5], [1], seqLen: 1, capacity: 6, slidingWindow: 3);
        CollectionAssert.AreEqual(new[] { X, X, X, 0f, 0f, X, 0f }, bias);
    }

    [TestMethod]
    public void Build_TreeVisibility_UsesAncestorSets()
    {
        // root(0) with children 1 and 2; node 2 must not see node 1
        bool[] visibility =
        [
            true, false, false,
            true, true, false,
            true, false, true,
        ];
        var bias = new float[3 * (1 + 3)];
        AttentionMask.Build(bias, [1], [3], seqLen: 3, capacity: 1, newVisibility: visibility, positions: [1, 2, 2]);
        float[] expected =
        [
            0, 0, X, X,
            0, 0, 0, X,
            0, 0, X, 0,
        ];
        CollectionAssert.AreEqual(expected, bias);
    }
}
