namespace Condensa.Runtime.Tests;

[TestClass]
public sealed class KvCacheKeepPathTests
{

    [TestMethod]
    public void KeepPath_Standard_CompactsKeptEntriesAfterStart()
    {
        using var cache = new KvCache(TestManifests.Small(), 2, new KvCacheOptions { GrowthChunk = 8 });
        Append(cache, seqLen: 2, counts: [2, 1], firstValue: 1);     // row 0: 1, 2; row 1: 1
        Append(cache, seqLen: 5, counts: [5, 3], firstValue: 10);    // a tree of 5 (row 0) and of 3 (row 1)
        cache.KeepPath(0, 2, [0, 2, 4]);
        cache.KeepPath(1, 1, [0, 1]);
        CollectionAssert.AreEqual(new[] { 5, 3 }, cache.Lengths.ToArray());
        CollectionAssert.AreEqual(new[] { 1f, 2f, 10f, 12f, 14f }, Slots(cache, 0, 5));
        CollectionAssert.AreEqual(new[] { 1f, 10f, 11f }, Slots(cache, 1, 3));
    }

    [TestMethod]
    public void KeepPath_Budgeted_CompactsThePathFromTheSlotOfItsStart()
    {
        // Sinks 1, window 2, slack 4: 7 slots. 7 tokens fill them (1..7); a tree of 4 (20..23, positions 7..10) first drops
        // the oldest recent entries, keeping the sink and the last 2 (6, 7), then takes slots 3..6.
        var budget = new KvBudget(Sinks: 1, Window: 2, Slack: 4);
        using var cache = new KvCache(TestManifests.Small(), 1, new KvCacheOptions { Budget = budget });
        Append(cache, seqLen: 7, counts: [7], firstValue: 1);
        Append(cache, seqLen: 4, counts: [4], firstValue: 20);
        CollectionAssert.AreEqual(new[] { 1f, 6f, 7f, 20f, 21f, 22f, 23f }, Slots(cache, 0, budget.Slots));

        cache.KeepPath(0, 7, [0, 3]);

        Assert.AreEqual(9, cache.Lengths[0]);
        Assert.AreEqual(5, cache.Fills[0]);
        CollectionAssert.AreEqual(new[] { 1f, 6f, 7f, 20f, 23f }, Slots(cache, 0, 5));
    }

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void KeepPath_AfterTreePass_DecodesLikeACacheThatOnlySawThePath(bool budgeted)
    {
        // A tree after a 20-token prefix: parents [-1, 0, 0, 1, 1, 2, 3], accepted path 0 -> 1 -> 3 -> 6.
        using var model = DecoderModel.Load(TinyModels.Get("llama").Export);
        var vocab = model.Manifest.VocabSize;
        var options = budgeted ? new KvCacheOptions { Budget = new KvBudget(Sinks: 2, Window: 6, Slack: 8) } : new KvCacheOptions();
        var prefix = TinyModels.Ids(20, seed: 41);
        var tree = TinyModels.Ids(7, seed: 42);
        int[] parents = [-1, 0, 0, 1, 1, 2, 3], path = [0, 1, 3, 6];
        var followUps = TinyModels.Ids(3, seed: 43);

        // 1) the tree pass: positions prefix + depth, each node sees its ancestors and itself
        using var treeCache = model.CreateCache(1, options);
        model.Forward(treeCache, prefix, [prefix.Length], LogitsSelection.LastPerRow);
        var depths = new long[7];
        var visibility = new bool[7 * 7];
        for (var j = 0; j < 7; j++)
        {
            for (var k = j; k >= 0; k = parents[k]) visibility[j * 7 + k] = true;
            depths[j] = parents[j] < 0 ? 0 : depths[parents[j]] + 1;
        }
        var positions = depths.Select(d => prefix.Length + d).ToArray();
        var treeLogits = model.Forward(treeCache, new ForwardInputs(tree, [7], LogitsSelection.All) { Positions = positions, NewTokenVisibility = visibility })
            .ToArray();
        treeCache.KeepPath(0, prefix.Length, path);

        // 2) the same prefix, then only the path's tokens, causally
        using var pathCache = model.CreateCache(1, options);
        model.Forward(pathCache, prefix, [prefix.Length], LogitsSelection.LastPerRow);
        var pathTokens = path.Select(i => tree[i]).ToArray();
        var pathLogits = model.Forward(pathCache, pathTokens, [path.Length], LogitsSelection.All).ToArray();
        for (var i = 0; i < path.Length; i++)
            Assert.IsLessThan(1e-5, RelativeDifference(treeLogits.AsSpan(path[i] * vocab, vocab), pathLogits.AsSpan(i * vocab, vocab)), $"tree node {path[i]}");

        // 3) decoding continues identically
        Assert.AreEqual(pathCache.Lengths[0], treeCache.Lengths[0]);
        foreach (var token in followUps)
        {
            var a = model.Forward(treeCache, [token], [1], LogitsSelection.LastPerRow).ToArray();
            var b = model.Forward(pathCache, [token], [1], LogitsSelection.LastPerRow).ToArray();
            Assert.IsLessThan(1e-5, RelativeDifference(a, b), $"after the path, token {token}");
        }
    }

    [TestMethod]
    public void KeepPath_IndicesNotAscendingOrPastTheEnd_Throws()
    {
        using var cache = new KvCache(TestManifests.Small(), 1, new KvCacheOptions { GrowthChunk = 8 });
        Append(cache, seqLen: 4, counts: [4], firstValue: 1);
        Assert.ThrowsExactly<ArgumentException>(() => cache.KeepPath(0, 1, [0, 2, 1]));
        Assert.ThrowsExactly<ArgumentException>(() => cache.KeepPath(0, 1, [0, 3]));
    }

    [TestMethod]
    public void KeepPath_BudgetedTreeLongerThanTheSlack_ThrowsInsteadOfMovingDroppedEntries()
    {
        // sinks 1, window 2, slack 2: a tree of 4 after 4 tokens keeps only its last 2 nodes (positions 6, 7)
        using var cache = new KvCache(TestManifests.Small(), 1, new KvCacheOptions { Budget = new KvBudget(Sinks: 1, Window: 2, Slack: 2) });
        Append(cache, seqLen: 4, counts: [4], firstValue: 1);
        Append(cache, seqLen: 4, counts: [4], firstValue: 20);
        var error = Assert.ThrowsExactly<ArgumentException>(() => cache.KeepPath(0, 4, [0, 1]));
        StringAssert.Contains(error.Message, "slack");
        Assert.AreEqual(8, cache.Lengths[0], "nothing changed");
    }

    /// <summary>Max |a - b| / max |b|: summation order differs with the masked slots, so equality is to rounding.</summary>
    private static double RelativeDifference(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double diff = 0, scale = 0;
        for (var i = 0; i < a.Length; i++) (diff, scale) = (Math.Max(diff, Math.Abs(a[i] - b[i])), Math.Max(scale, Math.Abs(b[i])));
        return diff / scale;
    }

    private static void Append(KvCache cache, int seqLen, int[] counts, int firstValue) =>
        KvEntries.Append(cache, seqLen, counts, firstValue);

    private static float[] Slots(KvCache cache, int row, int count) => KvEntries.Slots(cache, row, count);
}
