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
        var (_, export) = TinyModels.Get(name);
        using var fused = DecoderModel.Load(export, Fused);
        using var general = DecoderModel.Load(export, General);
        using var a = fused.CreateCache(2, new KvCacheOptions { GrowthChunk = 4 });
        using var c = general.CreateCache(2, new KvCacheOptions { GrowthChunk = 4 });
        var pair = new PassPair(general, c, fused, a, 1e-4f);
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
        a.KeepPath(0, 6, [0, 1, 3]);
        c.KeepPath(0, 6, [0, 1, 3]);
        a.KeepPath(1, 4, [0, 2]);
        c.KeepPath(1, 4, [0, 2]);
        pair.AssertSame([41, 42], [1, 1], "decode after the tree");
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
