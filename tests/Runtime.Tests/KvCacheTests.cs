namespace Condensa.Runtime.Tests;

[TestClass]
public sealed class KvCacheTests
{

    [TestMethod]
    public void WriteNew_RaggedCounts_LandAtEachRowsLength()
    {
        using var cache = new KvCache(TestManifests.Small(), 2, new KvCacheOptions { GrowthChunk = 8 });
        Append(cache, seqLen: 2, counts: [2, 1], firstValue: 1);   // row 0: tokens 1,2; row 1: token 1
        Append(cache, seqLen: 1, counts: [1, 1], firstValue: 10);  // row 0: 10 at slot 2; row 1: 10 at slot 1
        CollectionAssert.AreEqual(new[] { 3, 2 }, cache.Lengths.ToArray());
        CollectionAssert.AreEqual(new[] { 1f, 2f, 10f }, Slots(cache, row: 0, count: 3));
        CollectionAssert.AreEqual(new[] { 1f, 10f }, Slots(cache, row: 1, count: 2));
    }

    [TestMethod]
    public void EnsureCapacity_Growth_KeepsEntriesAndRoundsToChunk()
    {
        using var cache = new KvCache(TestManifests.Small(), 2, new KvCacheOptions { GrowthChunk = 4 });
        Assert.AreEqual(4, cache.Capacity);
        Append(cache, seqLen: 3, counts: [3, 2], firstValue: 1);
        cache.EnsureCapacity(9);
        Assert.AreEqual(12, cache.Capacity);
        CollectionAssert.AreEqual(new[] { 1f, 2f, 3f }, Slots(cache, row: 0, count: 3));
        CollectionAssert.AreEqual(new[] { 1f, 2f }, Slots(cache, row: 1, count: 2));
    }

    [TestMethod]
    public void FillWriteIndex_Standard_KeptEntriesAtRowsLengthOthersToTheScratchSlot()
    {
        using var cache = new KvCache(TestManifests.Small(), 2, new KvCacheOptions { GrowthChunk = 4 });
        Append(cache, seqLen: 3, counts: [3, 1], firstValue: 1);
        var index = new long[2 * cache.Manifest.NumKvHeads * 2 * 3];
        cache.FillWriteIndex(index, rows: 2, counts: [2, 0], seqLen: 2);
        var scratch = cache.Capacity;   // the slot after the last token slot
        // (row, head, slot) per entry of the one KV head: row 0 writes slots 3 and 4, row 1 has no kept entry
        CollectionAssert.AreEqual(new long[] { 0, 0, 3, 0, 0, 4, 1, 0, scratch, 1, 0, scratch }, index);
        Assert.IsTrue(cache.WritesInPass);
    }

    [TestMethod]
    public void FillWriteIndex_Budgeted_EverythingToTheScratchSlot()
    {
        using var cache = new KvCache(TestManifests.Small(), 1, new KvCacheOptions { Budget = new KvBudget(Sinks: 1, Window: 2, Slack: 1) });
        var index = new long[3 * cache.Manifest.NumKvHeads * 2];
        cache.FillWriteIndex(index, rows: 1, counts: [2], seqLen: 2);
        CollectionAssert.AreEqual(new long[] { 0, 0, 4, 0, 0, 4 }, index, "4 = after the budget's 4 slots: the scratch slot");
        Assert.IsFalse(cache.WritesInPass, "a budgeted cache takes a pass's entries after the pass");
    }

    [TestMethod]
    public void EnsureCapacity_PastMaxContext_ThrowsContextOverflow()
    {
        using var cache = new KvCache(TestManifests.Small(maxContext: 16), 1, new KvCacheOptions { GrowthChunk = 4 });
        var e = Assert.ThrowsExactly<CondensaException>(() => cache.EnsureCapacity(17));
        StringAssert.Contains(e.Message, "Context overflow");
        StringAssert.Contains(e.Message, "16");
    }

    [TestMethod]
    public void RewindTo_ThenAppend_OverwritesRejectedSlots()
    {
        using var cache = new KvCache(TestManifests.Small(), 1, new KvCacheOptions { GrowthChunk = 8 });
        Append(cache, seqLen: 4, counts: [4], firstValue: 1);
        cache.RewindTo(0, 2);
        Append(cache, seqLen: 1, counts: [1], firstValue: 7);
        Assert.AreEqual(3, cache.Lengths[0]);
        CollectionAssert.AreEqual(new[] { 1f, 2f, 7f }, Slots(cache, row: 0, count: 3));
    }

    [TestMethod]
    public void RewindTo_Forward_Throws()
    {
        using var cache = new KvCache(TestManifests.Small(), 1, new KvCacheOptions());
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => cache.RewindTo(0, 1));
    }

    [TestMethod]
    public void Bytes_Float16Model_CountsTwoBytesPerElement()
    {
        using var cache = new KvCache(TestManifests.Small(dtype: "float16"), 3, new KvCacheOptions { GrowthChunk = 8 });
        // 2 (k, v) x 2 layers x 1 kv head x 4 dims x 2 bytes
        Assert.AreEqual(32, cache.BytesPerToken);
        Assert.AreEqual(3L * 8 * 32, cache.AllocatedBytes);
        Assert.AreEqual(0, cache.UsedBytes);
    }

    private static void Append(KvCache cache, int seqLen, int[] counts, int firstValue) =>
        KvEntries.Append(cache, seqLen, counts, firstValue);

    private static float[] Slots(KvCache cache, int row, int count) => KvEntries.Slots(cache, row, count);
}
