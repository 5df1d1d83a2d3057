using System.Runtime.InteropServices;
using Condensa.TestSupport;

namespace Condensa.Runtime.Tests;

[TestClass]
public sealed class KvCacheBudgetTests
{

    [TestMethod]
    public void WriteNew_PastTheRing_KeepsSinksAndNewestPositions()
    {
        // sinks 2, ring 3: positions 0,1 stay; 2..6 cycle through slots 2,3,4
        using var cache = new KvCache(TestManifests.Small(), 1, new KvCacheOptions { Budget = new KvBudget(Sinks: 2, Window: 2, Slack: 1) });
        Assert.AreEqual(5, cache.Capacity);
        Append(cache, count: 7, firstValue: 0);
        Assert.AreEqual(7, cache.Lengths[0]);
        // slot: 0 1 2 3 4 -> positions 0 1 5 6 4
        CollectionAssert.AreEqual(new[] { 0f, 1f, 5f, 6f, 4f }, Slots(cache));
    }

    [TestMethod]
    public void MoveRows_Budgeted_MovesTheRingAndWhichPositionsItsSlotsHold()
    {
        // row 1 wraps its ring (positions 0,1 | 5 6 4); moved into the empty row 0 it keeps entries, length and mask
        using var cache = new KvCache(TestManifests.Small(), 2, new KvCacheOptions { Budget = new KvBudget(Sinks: 2, Window: 2, Slack: 1) });
        KvEntries.Append(cache, seqLen: 7, counts: [0, 7], firstValue: 0);
        var before = new float[2 * (cache.Slots + 1)];
        cache.BuildBias(before, rows: 2, [0, 1], seqLen: 1, slidingWindow: null, visibility: [], positions: []);

        cache.MoveRows([new RowMove(1, 0)]);

        CollectionAssert.AreEqual(new[] { 7, 0 }, cache.Lengths.ToArray());
        CollectionAssert.AreEqual(new[] { 0f, 1f, 5f, 6f, 4f }, KvEntries.Slots(cache, row: 0, cache.Capacity));
        var after = new float[cache.Slots + 1];
        cache.BuildBias(after, rows: 1, [1], seqLen: 1, slidingWindow: null, visibility: [], positions: []);
        CollectionAssert.AreEqual(before[(cache.Slots + 1)..], after, "row 0 now masks as row 1 did");
        var emptied = new float[2 * (cache.Slots + 1)];
        cache.BuildBias(emptied, rows: 2, [0, 1], seqLen: 1, slidingWindow: null, visibility: [], positions: []);
        Assert.AreEqual(1, emptied[(cache.Slots + 1)..].Count(x => x == 0f), "row 1 holds nothing: its token sees only itself");
    }

    [TestMethod]
    public void RewindTo_Budgeted_ForgetsLaterPositionsAndMasksThem()
    {
        using var cache = new KvCache(TestManifests.Small(), 1, new KvCacheOptions { Budget = new KvBudget(Sinks: 1, Window: 3, Slack: 2) });
        Append(cache, count: 5, firstValue: 0);      // positions 0..4 in slots 0..4
        cache.RewindTo(0, 3);
        var bias = new float[cache.Slots + 1];
        cache.BuildBias(bias, rows: 1, [1], seqLen: 1, slidingWindow: null, visibility: [], positions: []);
        // query at position 3 sees the sink and positions 0..2 (window 3); slots of 3 and 4 are forgotten, the scratch slots
        // (after the 6 of the budget) are never seen
        float x = GraphNames.MaskValue;
        float[] expected = [0f, 0f, 0f, .. Enumerable.Repeat(x, cache.Slots - 3), 0f];   // the new token sees itself
        CollectionAssert.AreEqual(expected, bias);
        Append(cache, count: 1, firstValue: 30);     // position 3 lands in its slot again
        CollectionAssert.AreEqual(new[] { 0f, 1f, 2f, 30f }, Slots(cache)[..4]);
    }

    [TestMethod]
    public void Forward_BudgetHoldingEverything_EqualsStandardCache()
    {
        var (_, export) = TinyModels.Get("qwen2");
        using var model = DecoderModel.Load(export);
        var ids = TinyModels.Ids(20, seed: 9);
        using var standard = model.CreateCache(1);
        using var budget = model.CreateCache(1, new KvCacheOptions { Budget = new KvBudget(Sinks: 4, Window: 64, Slack: 4) });
        model.Forward(standard, ids.AsSpan(0, 8), [8], LogitsSelection.LastPerRow);
        model.Forward(budget, ids.AsSpan(0, 8), [8], LogitsSelection.LastPerRow);
        for (var t = 8; t < ids.Length; t++)
        {
            var a = model.Forward(standard, ids.AsSpan(t, 1), [1], LogitsSelection.LastPerRow).ToArray();
            var b = model.Forward(budget, ids.AsSpan(t, 1), [1], LogitsSelection.LastPerRow);
            // Capacities differ (256 vs 70 slots), so reductions differ in length and round differently.
            Assert.IsLessThan(1e-5, TinyModels.RelativeError(b, [.. a.Select(v => (double)v)]), $"position {t}");
        }
    }

    [TestMethod]
    public void Forward_SmallWindowNoSinks_EqualsSlidingWindowReference()
    {
        // A budget of window W (no sinks) lets position p see p-W..p: a sliding window of W + 1 positions.
        var (checkpoint, export) = TinyModels.Get("qwen2");
        using var model = DecoderModel.Load(export);
        var ids = TinyModels.Ids(16, seed: 10);
        const int window = 4;
        var expected = new ReferenceModel(checkpoint, slidingWindow: window + 1).Logits(ids);
        using var budget = model.CreateCache(1, new KvCacheOptions { Budget = new KvBudget(Sinks: 0, Window: window, Slack: 2) });
        for (var t = 0; t < ids.Length; t++)
        {
            var logits = model.Forward(budget, ids.AsSpan(t, 1), [1], LogitsSelection.LastPerRow);
            Assert.IsLessThan(1e-4, TinyModels.RelativeError(logits, expected[t]), $"position {t}");
        }
    }

    [TestMethod]
    [DataRow(2)]   // passes of 2 and 3 tokens: within the slack the graph writes the ring slots itself, past it an Append does
    [DataRow(3)]   // every pass within the slack
    public void Forward_ChunksAroundTheSlack_EqualSlidingWindowReference(int slack)
    {
        var (checkpoint, export) = TinyModels.Get("qwen2");
        using var model = DecoderModel.Load(export);
        var ids = TinyModels.Ids(23, seed: 12);
        const int window = 4;
        var expected = new ReferenceModel(checkpoint, slidingWindow: window + 1).Logits(ids);
        using var budget = model.CreateCache(1, new KvCacheOptions { Budget = new KvBudget(Sinks: 0, Window: window, Slack: slack) });
        var vocab = model.Manifest.VocabSize;
        for (var (t, chunk) = (0, 2); t < ids.Length; t += chunk, chunk = 5 - chunk)
        {
            var n = Math.Min(chunk, ids.Length - t);
            var logits = model.Forward(budget, ids.AsSpan(t, n), [n], LogitsSelection.All);
            for (var j = 0; j < n; j++)
                Assert.IsLessThan(1e-4, TinyModels.RelativeError(logits.Slice(j * vocab, vocab), expected[t + j]), $"position {t + j}");
        }
    }

    [TestMethod]
    public void CopyLastPassInto_Budget_HoldsTheSourcePassEntries()
    {
        var (_, export) = TinyModels.Get("llama");
        using var model = DecoderModel.Load(export);
        var ids = TinyModels.Ids(10, seed: 11);
        using var full = model.CreateCache(1);
        using var copied = model.CreateCache(1, new KvCacheOptions { Budget = new KvBudget(Sinks: 2, Window: 32, Slack: 2) });
        using var computed = model.CreateCache(1, new KvCacheOptions { Budget = new KvBudget(Sinks: 2, Window: 32, Slack: 2) });
        model.Forward(full, ids, [ids.Length], LogitsSelection.LastPerRow);
        full.CopyLastPassInto(copied, [ids.Length]);
        model.Forward(computed, ids, [ids.Length], LogitsSelection.LastPerRow);
        Assert.AreEqual(ids.Length, copied.Lengths[0]);
        // Layer 0 keys are projections of the same embeddings: identical. Layer 1 values went through attention over
        // caches of different capacity, so they agree to rounding.
        CollectionAssert.AreEqual(computed.KeyBytes(0).ToArray(), copied.KeyBytes(0).ToArray());
        var want = MemoryMarshal.Cast<byte, float>(computed.ValueBytes(1)).ToArray().Select(v => (double)v).ToArray();
        Assert.IsLessThan(1e-5, TinyModels.RelativeError(MemoryMarshal.Cast<byte, float>(copied.ValueBytes(1)), want));
    }

    [TestMethod]
    public void CopyLastPassInto_StandardCacheRewoundSinceThePass_CopiesEachRowsLastEntries()
    {
        // The cache's own buffers are the source (the causal graph has no new-KV outputs): after a pass of [4, 2]
        // entries and row 0 rewound to its 2 accepted ones, each row gives its last 2 entries.
        using var source = new KvCache(TestManifests.Small(), 2, new KvCacheOptions());
        using var draft = new KvCache(TestManifests.Small(), 2, new KvCacheOptions { Budget = new KvBudget(Sinks: 1, Window: 8, Slack: 4) });
        KvEntries.Append(source, 3, [3, 3], firstValue: 0);
        KvEntries.Append(draft, 3, [3, 3], firstValue: 0);
        KvEntries.Append(source, 4, [4, 2], firstValue: 10);
        source.RewindTo(0, 5);

        source.CopyLastPassInto(draft, [2, 2]);

        CollectionAssert.AreEqual(new[] { 5, 5 }, draft.Lengths.ToArray());
        CollectionAssert.AreEqual(new[] { 0f, 1f, 2f, 10f, 11f }, KvEntries.Slots(draft, row: 0, 5));
        CollectionAssert.AreEqual(new[] { 0f, 1f, 2f, 10f, 11f }, KvEntries.Slots(draft, row: 1, 5));
    }

    private static void Append(KvCache cache, int count, int firstValue) =>
        KvEntries.Append(cache, count, [count], firstValue);

    private static float[] Slots(KvCache cache) => KvEntries.Slots(cache, row: 0, cache.Capacity);
}
