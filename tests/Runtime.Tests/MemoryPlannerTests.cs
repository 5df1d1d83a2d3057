namespace Condensa.Runtime.Tests;

[TestClass]
public sealed class MemoryPlannerTests
{
    // 8 layers, 2 KV heads of 64; LCKV sandwich stores layers 0, 6, 7 (demo-code-lckv's dimensions).
    private static ModelManifest Lckv(string dtype = "float16") => TestManifests.Small(maxContext: 2048, dtype) with
    {
        NumLayers = 8, NumHeads = 4, NumKvHeads = 2, HeadDim = 64, KvLayers = [0, 6, 7], LayerKvSource = [0, 6, 6, 6, 6, 6, 6, 7],
    };

    [TestMethod]
    public void BytesPerToken_CondensedAndStandard()
    {
        var planner = new MemoryPlanner(Lckv());
        Assert.AreEqual(2L * 3 * 2 * 64 * 2, planner.CondensedBytesPerToken);   // 1536
        Assert.AreEqual(2L * 8 * 2 * 64 * 2, planner.StandardBytesPerToken);    // 4096
        Assert.AreEqual(2L * 3 * 2 * 64 * 4, new MemoryPlanner(Lckv(), KvDataType.Float32).CondensedBytesPerToken);
    }

    [TestMethod]
    [DataRow(64L << 20, 2048, 21, 8)]      // 64 MiB: 67108864 / (2048 x 1536) = 21.3; / (2048 x 4096) = 8
    [DataRow(1L << 20, 2048, 0, 0)]        // 1 MiB holds no 2048-token row
    [DataRow(6_291_456L, 512, 8, 3)]       // 6 MiB at 512: 8 vs 3
    public void LargestBatch_Budget_CondensedFitsMoreRows(long budget, int context, int condensed, int standard)
    {
        var planner = new MemoryPlanner(Lckv());
        Assert.AreEqual(condensed, planner.LargestBatch(budget, context));
        Assert.AreEqual(standard, planner.LargestBatch(budget, context, condensed: false));
    }

    [TestMethod]
    public void LargestContext_Budget_CappedByMaxContextAndRoundedToChunks()
    {
        var planner = new MemoryPlanner(Lckv(), growthChunk: 256);
        // 8 MiB, batch 4: 8388608 / (4 x 1536) = 1365 -> 1280 in chunks of 256; standard 512
        Assert.AreEqual(1280, planner.LargestContext(8L << 20, 4));
        Assert.AreEqual(512, planner.LargestContext(8L << 20, 4, condensed: false));
        Assert.AreEqual(2048, planner.LargestContext(1L << 30, 1), "never beyond max_context");
        Assert.AreEqual(0, planner.LargestContext(1000, 1));
    }

    [TestMethod]
    public void LargestBatch_GrowthChunk_CountsWholeChunks()
    {
        // 300 tokens occupy 512 slots with a chunk of 256
        var planner = new MemoryPlanner(Lckv(), growthChunk: 256);
        Assert.AreEqual(2, planner.LargestBatch(2L * 512 * 1536, 300));
        Assert.AreEqual(3, new MemoryPlanner(Lckv()).LargestBatch(2L * 512 * 1536, 300));
    }

    [TestMethod]
    public void Plan_StandardModel_BothLayoutsEqual()
    {
        var plan = new MemoryPlanner(TestManifests.Small()).Plan(1 << 20, 32, 2);
        Assert.AreEqual(plan.Standard, plan.Condensed);
        Assert.AreEqual(1 << 20, plan.BudgetBytes);
    }

    [TestMethod]
    public void Plan_BadArguments_Throw()
    {
        var planner = new MemoryPlanner(Lckv());
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => planner.LargestBatch(-1, 10));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => planner.LargestBatch(10, 0));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => planner.LargestContext(10, 0));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new MemoryPlanner(Lckv(), growthChunk: 0));
    }
}
