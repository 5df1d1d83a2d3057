using static Condensa.Runtime.Tests.AttentionGraphSettings;

namespace Condensa.Runtime.Tests;

/// <summary>
/// The slots graph (the general graph's contract, one Attention node per layer over the cache its pass has written) against
/// the general graph on the CPU provider, for the passes it takes: token trees at batch &gt; 1 (and a budgeted cache's
/// passes at explicit positions: <see cref="BudgetedPassesTests"/>); the passes it cannot take still run the general graph.
/// </summary>
[TestClass]
public sealed class SlotsGraphTests
{
    [TestMethod]
    [DataRow("llama")]
    [DataRow("qwen2")]
    public void Forward_TreeAtBatchTwoThenADecodeStep_EqualsGeneralGraph(string name)
    {
        using var models = new FusedAndGeneral(TinyModels.Get(name).Export, 2, new KvCacheOptions { GrowthChunk = 4 });
        var (pair, fused) = (models.Passes, models.Fused);
        int[] prompts = [.. TinyModels.Ids(6, 1), .. TinyModels.Ids(6, 2)];
        pair.AssertSame(prompts, [6, 4], "ragged prefill");

        // a tree of 5 per row (root; two children; a grandchild under each), row 1 with 4 nodes and a padding entry
        int[] tree = [21, 22, 23, 24, 25, 31, 32, 33, 34, 0];
        long[] depth = [0, 1, 1, 2, 2];
        int[] parent = [-1, 0, 0, 1, 2];
        var positions = new long[10];
        var visibility = new bool[2 * 5 * 5];
        int[] lengths = [6, 4];
        for (var b = 0; b < 2; b++)
        for (var j = 0; j < 5; j++)
        {
            positions[b * 5 + j] = lengths[b] + depth[j];
            for (var k = j; k >= 0; k = parent[k]) visibility[(b * 5 + j) * 5 + k] = true;   // itself and its ancestors
        }
        var inputs = new ForwardInputs(tree, [5, 4], LogitsSelection.All) { Positions = positions, NewTokenVisibility = visibility };
        pair.AssertSame(inputs, "tree");
        Assert.AreEqual(1, fused.SlotsPasses, "explicit positions at batch 2 run the slots graph");
        Assert.IsFalse(fused.GeneralGraphLoaded, "no pass needed the general graph");

        // keep each row's path root -> 1 -> 3 and decode one step: it reads the tree's entries from their slots
        foreach (var cache in new[] { models.FusedCache, models.GeneralCache })
        {
            cache.KeepPath(0, 6, [0, 1, 3]);
            cache.KeepPath(1, 4, [0, 2]);
        }
        pair.AssertSame([41, 42], [1, 1], "decode after the tree");
    }

    [TestMethod]
    [DataRow(4)]
    [DataRow(5)]
    public void Forward_OneTokenARowAtExplicitPositions_EqualsGeneralGraph(int growthChunk)
    {
        // A float32 export's slots graph takes a pass of one query row a KV head (a model with a KV head per query head,
        // one token a row) with its scores as a GEMM over the query laid block-diagonally, 4 slots a column where 4 divides
        // the slots (a chunk of 4: 8 + 16 slots), else one (a chunk of 5: 10 + 16); a tree's several rows as q·Kᵀ
        // (BlockScoresAttention)
        using var models = new FusedAndGeneral(TinyModels.Get("llama-mha").Export, 2, new KvCacheOptions { GrowthChunk = growthChunk });
        var (pair, fused, a) = (models.Passes, models.Fused, models.FusedCache);
        pair.AssertSame([.. TinyModels.Ids(5, 3), .. TinyModels.Ids(3, 4), 0, 0], [5, 3], "ragged prefill");
        for (var step = 0; step < 3; step++)
        {
            long[] positions = [5 + step, 3 + step];
            pair.AssertSame(new ForwardInputs([40 + step, 50 + step], [1, 1], LogitsSelection.All) { Positions = positions }, $"step {step}");
        }
        Assert.AreEqual(3, fused.SlotsPasses, "one token a row at explicit positions runs the slots graph");
        Assert.AreEqual(growthChunk == 4, a.Slots % BlockSlots == 0, $"{a.Slots} slots: in blocks only with a growth chunk of 4");

        // a tree of a root and two children at batch 2: 3 query rows a KV head
        var visibility = new bool[2 * 3 * 3];
        for (var b = 0; b < 2; b++)
        for (var j = 0; j < 3; j++)
            visibility[(b * 3 + j) * 3 + j] = visibility[(b * 3 + j) * 3] = true;   // itself and the root
        long[] treePositions = [8, 9, 9, 6, 7, 7];
        pair.AssertSame(new ForwardInputs([61, 62, 63, 71, 72, 73], [3, 3], LogitsSelection.All)
            { Positions = treePositions, NewTokenVisibility = visibility }, "tree");
        Assert.AreEqual(4, fused.SlotsPasses, "the tree ran the slots graph too");
    }

    private const int BlockSlots = 4;   // BlockScoresAttention.Block

    [TestMethod]
    [DataRow(1)]    // 4 lanes (B x 4 heads): 8 chunks of slots
    [DataRow(16)]   // 64 lanes: 2 chunks
    [DataRow(17)]   // 68 lanes: one, the plain product
    public void Forward_FewRowsSplitTheValuesProductIntoChunks_EqualsGeneralGraph(int batch)
    {
        // A float32 export's slots graph splits the values' product of a pass of at most 32 tokens a row into up to 8
        // chunks of slots where few rows would give cuBLAS few blocks (BlockScoresAttention.Chunks), the chunks summed.
        // The rows span several chunks, and the slots past them hold a longer pass's entries, rewound: stale, not zeros
        using var models = new FusedAndGeneral(TinyModels.Get("llama-mha").Export, batch, new KvCacheOptions { GrowthChunk = 8 });
        var (pair, fused, a) = (models.Passes, models.Fused, models.FusedCache);
        var counts = Enumerable.Range(0, batch).Select(b => 20 + b % 3).ToArray();
        var ids = TinyModels.Ids(batch * 22, 5);
        for (var i = 0; i < ids.Length; i++)
            if (i % 22 >= counts[i / 22]) ids[i] = 0;   // padding past each row's prompt
        pair.AssertSame(ids, counts, "prefill");
        for (var b = 0; b < batch; b++)
        {
            a.RewindTo(b, counts[b] - 6);
            models.GeneralCache.RewindTo(b, counts[b] - 6);
        }
        var slotsPasses = fused.SlotsPasses;
        const int tokens = 5;   // a chain's verification at explicit positions, which the slots graph takes
        var positions = new long[batch * tokens];
        for (var i = 0; i < positions.Length; i++) positions[i] = counts[i / tokens] - 6 + i % tokens;
        pair.AssertSame(new ForwardInputs(TinyModels.Ids(batch * tokens, 9), [.. Enumerable.Repeat(tokens, batch)], LogitsSelection.All)
            { Positions = positions }, "chain");
        Assert.AreEqual(slotsPasses + 1, fused.SlotsPasses, "the chain ran the slots graph");
        Assert.AreEqual(0, a.Slots % 8, $"{a.Slots} slots: 8, 4 and 2 chunks divide them");
    }

    [TestMethod]
    public void Forward_ATreePast32TokensTakesTheGeneralGraph()
    {
        // the bias of a grouped-query model is batch x G·tokens x capacity, as the multi-row causal graph's: long passes leave it
        var (_, export) = TinyModels.Get("llama");
        using var model = DecoderModel.Load(export, Fused);
        using var pair = model.CreateCache(2);
        model.Forward(pair, [.. TinyModels.Ids(4, 8), .. TinyModels.Ids(4, 9)], [4, 4], LogitsSelection.LastPerRow);
        foreach (var tokens in new[] { 32, 33 })
        {
            var positions = new long[2 * tokens];
            for (var i = 0; i < positions.Length; i++) positions[i] = 4;   // siblings: one tree level
            var ids = TinyModels.Ids(2 * tokens, 10);
            model.Forward(pair, new ForwardInputs(ids, [tokens, tokens], LogitsSelection.LastPerRow) { Positions = positions });
            pair.RewindTo(0, 4);
            pair.RewindTo(1, 4);
        }
        Assert.AreEqual(1, model.SlotsPasses, "32 tokens in each of 2 rows run the slots graph, 33 do not");
        Assert.IsTrue(model.GeneralGraphLoaded, "33 tokens in each of 2 rows take the general graph");
    }

    [TestMethod]
    [DataRow("llama-mha")]
    [DataRow("llama")]
    public void Forward_OneRowPast32Tokens_RunsTheSlotsGraph_EqualsGeneralGraph(string name)
    {
        // a float32 export's prompt chunks on cuda, where no causal graph runs (here: explicit positions, which none takes):
        // one row's pass of any length takes the slots graph, its bias no larger than the general graph's mask times G
        using var models = new FusedAndGeneral(TinyModels.Get(name).Export, 1);
        var (pair, fused) = (models.Passes, models.Fused);
        foreach (var (start, tokens) in new[] { (0, 40), (40, 37) })
        {
            var positions = Enumerable.Range(start, tokens).Select(p => (long)p).ToArray();
            pair.AssertSame(new ForwardInputs(TinyModels.Ids(tokens, start + 1), [tokens], LogitsSelection.All) { Positions = positions },
                $"chunk at {start}");
        }
        pair.AssertSame([7], [1], "decode after the chunks");
        Assert.AreEqual(2, fused.SlotsPasses, "both chunks of one row ran the slots graph");
        Assert.IsFalse(fused.GeneralGraphLoaded, "no pass needed the general graph");
    }

    [TestMethod]
    public void Load_FusedAttentionOff_NeverRunsTheSlotsGraph()
    {
        var (_, export) = TinyModels.Get("llama");
        using var model = DecoderModel.Load(export, General);
        using var cache = model.CreateCache(2, new KvCacheOptions { Budget = new KvBudget(Sinks: 1, Window: 4) });
        model.Forward(cache, [5, 6, 7, 8], [2, 2], LogitsSelection.LastPerRow);
        model.Forward(cache, [9, 10], [1, 1], LogitsSelection.LastPerRow);
        Assert.AreEqual(0, model.SlotsPasses);
        Assert.IsFalse(model.SlotsGraphLoaded);
    }
}
