using System.Runtime.InteropServices;
using Condensa.TestSupport;

namespace Condensa.Runtime.Tests;

[TestClass]
public sealed class KvCacheBudgetTests
{

    [TestMethod]
    public void Append_OneAtATimePastTheSlots_DropsTheOldestRecentEntriesEverySlackTokens()
    {
        // sinks 2, window 2, slack 2: 6 slots. Positions 0..5 fill them; 6 first drops all but the last 2 recent (4, 5),
        // and 7 fits after it; 8 drops again (keeping 6, 7).
        using var cache = new KvCache(TestManifests.Small(), 1, new KvCacheOptions { Budget = new KvBudget(Sinks: 2, Window: 2, Slack: 2) });
        Assert.AreEqual(6, cache.Capacity);
        for (var p = 0; p < 8; p++) Append(cache, count: 1, firstValue: p);
        CollectionAssert.AreEqual(new[] { 0f, 1f, 4f, 5f, 6f, 7f }, Slots(cache));
        Assert.AreEqual(6, cache.Fills[0]);
        Append(cache, count: 1, firstValue: 8);
        CollectionAssert.AreEqual(new[] { 0f, 1f, 6f, 7f, 8f }, Slots(cache)[..5]);
        Assert.AreEqual(9, cache.Lengths[0]);
        Assert.AreEqual(5, cache.Fills[0]);
    }

    [TestMethod]
    public void Append_MoreThanTheSlackAtOnce_KeepsTheSinksAndTheLastWindowPositions()
    {
        using var cache = new KvCache(TestManifests.Small(), 1, new KvCacheOptions { Budget = new KvBudget(Sinks: 2, Window: 2, Slack: 1) });
        Append(cache, count: 7, firstValue: 0);
        Assert.AreEqual(7, cache.Lengths[0]);
        Assert.AreEqual(4, cache.Fills[0]);
        CollectionAssert.AreEqual(new[] { 0f, 1f, 5f, 6f }, Slots(cache)[..4]);
        Append(cache, count: 3, firstValue: 10);   // positions 7..9: the last 2 recent are 8, 9 (11, 12)
        Assert.AreEqual(4, cache.Fills[0]);
        CollectionAssert.AreEqual(new[] { 0f, 1f, 11f, 12f }, Slots(cache)[..4]);
    }

    [TestMethod]
    public void MoveRows_Budgeted_MovesTheRowsSlotsAndWhatItFills()
    {
        // row 1 dropped old entries (positions 0,1 | 5 6); moved into the empty row 0 it keeps entries, length and mask
        using var cache = new KvCache(TestManifests.Small(), 2, new KvCacheOptions { Budget = new KvBudget(Sinks: 2, Window: 2, Slack: 1) });
        KvEntries.Append(cache, seqLen: 7, counts: [0, 7], firstValue: 0);
        var before = Mask(cache, rows: 2, [0, 1]);

        cache.MoveRows([new RowMove(1, 0)]);

        CollectionAssert.AreEqual(new[] { 7, 0 }, cache.Lengths.ToArray());
        CollectionAssert.AreEqual(new[] { 4, 0 }, cache.Fills.ToArray());
        CollectionAssert.AreEqual(new[] { 0f, 1f, 5f, 6f }, KvEntries.Slots(cache, row: 0, 4));
        var after = Mask(cache, rows: 1, [1]);
        CollectionAssert.AreEqual(before[(cache.Slots + 1)..], after, "row 0 now masks as row 1 did");
        var emptied = Mask(cache, rows: 2, [0, 1]);
        Assert.AreEqual(1, emptied[(cache.Slots + 1)..].Count(x => x == 0f), "row 1 holds nothing: its token sees only itself");
    }

    [TestMethod]
    public void RewindTo_Budgeted_ForgetsLaterPositionsAndMasksThem()
    {
        using var cache = new KvCache(TestManifests.Small(), 1, new KvCacheOptions { Budget = new KvBudget(Sinks: 1, Window: 3, Slack: 2) });
        Append(cache, count: 5, firstValue: 0);      // positions 0..4 in slots 0..4
        cache.RewindTo(0, 3);
        // query at position 3 sees positions 0..2; the slots of 3 and 4 are forgotten, the scratch slots (after the 6 of
        // the budget) are never seen
        float x = GraphNames.MaskValue;
        float[] sinkAndTwo = [0f, 0f, 0f, .. Enumerable.Repeat(x, cache.Slots - 3), 0f];   // the new token sees itself
        CollectionAssert.AreEqual(sinkAndTwo, Bias(cache));
        Append(cache, count: 1, firstValue: 30);     // position 3 lands in slot 3 again
        CollectionAssert.AreEqual(new[] { 0f, 1f, 2f, 30f }, Slots(cache)[..4]);

        // positions 4, 5, 6 (40..42): 6 drops the oldest recent entries, keeping the last 3 (3, 4, 5) behind the sink
        for (var p = 4; p < 7; p++) Append(cache, count: 1, firstValue: 36 + p);
        CollectionAssert.AreEqual(new[] { 0f, 30f, 40f, 41f, 42f }, Slots(cache)[..5]);
        cache.RewindTo(0, 5);                        // within what the row holds: positions 0, 3, 4 remain
        Assert.AreEqual(3, cache.Fills[0]);
        cache.RewindTo(0, 2);                        // before the oldest recent entry it holds: only the sink remains
        Assert.AreEqual(1, cache.Fills[0]);
        float[] sinkAlone = [0f, .. Enumerable.Repeat(x, cache.Slots - 1), 0f];
        CollectionAssert.AreEqual(sinkAlone, Bias(cache));
        Append(cache, count: 1, firstValue: 50);     // position 2 goes right after the sink
        CollectionAssert.AreEqual(new[] { 0f, 50f }, Slots(cache)[..2]);
        Assert.AreEqual(3, cache.Lengths[0]);
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
    [DataRow(0, true)]    // decode steps on the causal graph (GroupQueryAttention at the host's positions)
    [DataRow(1, true)]
    [DataRow(0, false)]   // on the general graph
    [DataRow(1, false)]
    public void Forward_DecodeStepsPastTheSlots_SeeTheSinksAndTheRecentPositionsTheRowHolds(int sinks, bool fused)
    {
        var (checkpoint, export) = TinyModels.Get("qwen2");
        using var model = DecoderModel.Load(export, new SessionSettings { FusedAttention = fused });
        var ids = TinyModels.Ids(16, seed: 10);
        var budget = new KvBudget(Sinks: sinks, Window: 4, Slack: 2);
        using var cache = model.CreateCache(1, new KvCacheOptions { Budget = budget });
        var held = new Dictionary<int, (int Sinks, int FirstRecent)>();
        var logits = new List<float[]>();
        for (var t = 0; t < ids.Length; t++)
        {
            held[t] = Held(cache, budget, newTokens: 1);
            logits.Add(model.Forward(cache, ids.AsSpan(t, 1), [1], LogitsSelection.LastPerRow).ToArray());
        }
        Assert.AreEqual(fused ? ids.Length : 0, model.CausalPasses, "which graph the budget's steps ran");
        Assert.IsLessThan(ids.Length, held.Count(h => h.Value.FirstRecent == 0), "the row dropped old positions");

        var expected = new ReferenceModel(checkpoint, sees: (t, j) => j < held[t].Sinks || j >= held[t].FirstRecent).Logits(ids);
        for (var t = 0; t < ids.Length; t++)
            Assert.IsLessThan(1e-4, TinyModels.RelativeError(logits[t], expected[t]), $"position {t}");
    }

    [TestMethod]
    [DataRow(2)]   // passes of 2 and 3 tokens: within the slack the graph writes the entries itself, past it an Append does
    [DataRow(3)]   // every pass within the slack
    public void Forward_ChunksAroundTheSlack_SeeTheRecentPositionsTheRowHolds(int slack)
    {
        var (checkpoint, export) = TinyModels.Get("qwen2");
        using var model = DecoderModel.Load(export);
        var ids = TinyModels.Ids(23, seed: 12);
        var budget = new KvBudget(Sinks: 0, Window: 4, Slack: slack);
        using var cache = model.CreateCache(1, new KvCacheOptions { Budget = budget });
        var vocab = model.Manifest.VocabSize;
        var held = new Dictionary<int, (int Sinks, int FirstRecent)>();
        var logits = new float[ids.Length][];
        for (var (t, chunk) = (0, 2); t < ids.Length; t += chunk, chunk = 5 - chunk)
        {
            var n = Math.Min(chunk, ids.Length - t);
            for (var j = 0; j < n; j++) held[t + j] = Held(cache, budget, n);
            var pass = model.Forward(cache, ids.AsSpan(t, n), [n], LogitsSelection.All);
            for (var j = 0; j < n; j++) logits[t + j] = pass.Slice(j * vocab, vocab).ToArray();
        }
        var expected = new ReferenceModel(checkpoint, sees: (t, j) => j < held[t].Sinks || j >= held[t].FirstRecent).Logits(ids);
        for (var t = 0; t < ids.Length; t++)
            Assert.IsLessThan(1e-4, TinyModels.RelativeError(logits[t], expected[t]), $"position {t}");
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

    private static float[] Bias(KvCache cache) => Mask(cache, rows: 1, [1]);

    // A one-token pass's mask over the first rows, expanded as the graph expands it: [rows, 1, 1, slots + 1]
    private static float[] Mask(KvCache cache, int rows, int[] counts)
    {
        var (spans, fresh) = (new long[2 * rows], new float[rows]);
        cache.BuildMask(spans, fresh, rows, counts, seqLen: 1, slidingWindow: null, visibility: [], positions: []);
        return DenseMask.Expand(spans, fresh, rows, seqLen: 1, cache.Slots);
    }

    // The positions a pass of newTokens (within the slack: it makes room first, as the budget's rule says; past it the
    // pass sees what the row holds now) will see besides its own tokens: the sinks below Sinks and every position from
    // FirstRecent on, read from the row's length and fill (KvBudget: the recent positions are the last fill - sinks).
    private static (int Sinks, int FirstRecent) Held(KvCache cache, KvBudget budget, int newTokens)
    {
        var (length, fill) = (cache.Lengths[0], cache.Fills[0]);
        if (newTokens <= budget.Slack && fill + newTokens > cache.Capacity)
            fill = budget.Sinks + Math.Min(budget.Window, fill - budget.Sinks);   // the drop before the pass
        return fill == length ? (0, 0) : (budget.Sinks, length - (fill - budget.Sinks));
    }

    private static float[] Slots(KvCache cache) => KvEntries.Slots(cache, row: 0, cache.Capacity);
}
