using Condensa.TestSupport;

namespace Condensa.Runtime.Tests;

[TestClass]
public sealed class AttentionMaskTests
{
    private const float X = GraphNames.MaskValue;

    // The compact mask, expanded as the graph expands it: [batch, 1, seqLen, capacity + seqLen]
    private static void Build(float[] bias, int[] lengths, int[] counts, int seqLen, int capacity, int? slidingWindow = null,
        bool[]? newVisibility = null, long[]? positions = null)
    {
        var (spans, fresh) = (new long[lengths.Length * seqLen * 2], new float[lengths.Length * seqLen * seqLen]);
        AttentionMask.Build(spans, fresh, lengths, counts, seqLen, slidingWindow, newVisibility, positions);
        DenseMask.Expand(spans, fresh, lengths.Length, seqLen, capacity).CopyTo(bias, 0);
    }

    [TestMethod]
    public void Build_SendsSpansAndTheNewTokensMask_NotTheSlots()
    {
        // 5 cached, two new at positions 5 and 6, window 3: the first sees slots 3-4, the second slot 4; padding none
        var (spans, fresh) = (new long[3 * 2], new float[3 * 3]);
        AttentionMask.Build(spans, fresh, [5], [2], seqLen: 3, slidingWindow: 3);
        CollectionAssert.AreEqual(new long[] { 3, 5, 4, 5, 0, 0 }, spans);
        CollectionAssert.AreEqual(new[] { 0f, X, X, 0f, 0f, X, X, X, X }, fresh);
    }

    [TestMethod]
    public void Build_Decode_AdmitsCachedPrefixAndSelf()
    {
        // capacity 4, row holds 2 tokens, one new token
        var bias = new float[1 * 1 * (4 + 1)];
        Build(bias, [2], [1], seqLen: 1, capacity: 4);
        CollectionAssert.AreEqual(new[] { 0f, 0f, X, X, 0f }, bias);
    }

    [TestMethod]
    public void Build_RaggedPrefill_CausalRowsAndBlockedPadding()
    {
        // two rows, capacity 2, seqLen 3: row 0 has 3 new tokens and 1 cached, row 1 has 1 new token
        var bias = new float[2 * 3 * 5];
        Build(bias, [1, 0], [3, 1], seqLen: 3, capacity: 2);
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
        Build(bias, [5], [1], seqLen: 1, capacity: 6, slidingWindow: 3);
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
        Build(bias, [1], [3], seqLen: 3, capacity: 1, newVisibility: visibility, positions: [1, 2, 2]);
        float[] expected =
        [
            0, 0, X, X,
            0, 0, 0, X,
            0, 0, X, 0,
        ];
        CollectionAssert.AreEqual(expected, bias);
    }
}
