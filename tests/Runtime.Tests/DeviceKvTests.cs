using Condensa.Runtime.Batching;
using Condensa.TestSupport;

namespace Condensa.Runtime.Tests;

/// <summary>
/// The device-resident KV path (buffers owned by ONNX Runtime, edited only by the export's kv_write / kv_zeros /
/// kv_copy graphs), run on the CPU provider with <see cref="KvResidence.Device"/>: every scenario gives bit for bit the
/// logits and the KV of the host path, since both copy the same bytes. A GPU provider runs this same code.
/// </summary>
[TestClass]
public sealed class DeviceKvTests
{
    private static readonly SessionSettings Device = new() { KvResidence = KvResidence.Device };

    [TestMethod]
    public void Device_RaggedBatchWithGrowthRewindAndTreeCompaction_EqualsHost()
    {
        var export = TinyModels.Get("llama").Export;
        var (hostLogits, hostKeys, _, _) = RaggedScenario(export, new SessionSettings(), expectDevice: false);
        var (deviceLogits, deviceKeys, spanCopies, _) = RaggedScenario(export, Device, expectDevice: true);

        CollectionAssert.AreEqual(hostLogits, deviceLogits, "logits of every pass");
        CollectionAssert.AreEqual(hostKeys, deviceKeys, "layer 0 keys after the scenario");
        Assert.IsGreaterThan(0, spanCopies, "the growth and the tree's compaction (runs of one entry) go as strided copies");
    }

    [TestMethod]
    public void Device_RowMovesAndCompactions_GoAsStridedCopiesWhereTheyCanAndEqualHost()
    {
        var export = TinyModels.Get("llama").Export;
        var host = MoveScenario(export, new SessionSettings());
        var device = MoveScenario(export, Device);
        CollectionAssert.AreEqual(host.Logits, device.Logits, "logits of every pass");
        CollectionAssert.AreEqual(host.Keys, device.Keys, "layer 0 keys after the scenario");
        Assert.AreEqual(0, host.SpanCopies + host.EntriesWrites, "host memory copies itself");
        Assert.AreEqual(2, device.SpanCopies, "the row move and the compaction of one entry: strided copies");
        Assert.AreEqual(1, device.EntriesWrites, "the compaction of three entries one slot down overlaps itself: kv_write_entries");
    }

    [TestMethod]
    public void Device_SpanCopiesSwitchedOff_EditThroughTheGraphsAndEqualHost()
    {
        var export = TinyModels.Get("llama").Export;
        var host = MoveScenario(export, new SessionSettings());
        Environment.SetEnvironmentVariable(Kv.DeviceKvMemory.NoSpanCopies, "0");
        try
        {
            var device = MoveScenario(export, Device);
            CollectionAssert.AreEqual(host.Logits, device.Logits);
            CollectionAssert.AreEqual(host.Keys, device.Keys);
            Assert.AreEqual(0, device.SpanCopies);
            Assert.AreEqual(3, device.EntriesWrites, "the move and both compactions through kv_write_entries");
        }
        finally
        {
            Environment.SetEnvironmentVariable(Kv.DeviceKvMemory.NoSpanCopies, null);
        }
    }

    [TestMethod]
    [DataRow(true, 0, 1, DisplayName = "17 rows at three lengths x 4 tensors: more copies than MaxSpanCopies for 17 entries, one kv_write_entries run")]
    [DataRow(false, 1, 0, DisplayName = "17 rows at one length: their runs lie a row apart at the same slots, one copy a tensor")]
    public void Device_OneEntryOfManyRows_EqualsHostThroughTheCheaperWrite(bool ragged, int spanCopies, int entriesWrites)
    {
        var export = TinyModels.Get("llama").Export;
        var (host, _, _) = ManyRowsScenario(export, new SessionSettings(), ragged);
        var (device, spans, entries) = ManyRowsScenario(export, Device, ragged);
        CollectionAssert.AreEqual(host, device);
        Assert.AreEqual(spanCopies, spans);
        Assert.AreEqual(entriesWrites, entries);
    }

    [TestMethod]
    [DataRow(64, 1L, 2, true, true, DisplayName = "64 strided copies")]
    [DataRow(68, 17L, 2, true, false, DisplayName = "68 copies of entries kv_write_entries takes: one graph run")]
    [DataRow(8, 7_680L, 16, false, true, DisplayName = "a row's move at 7,680 tokens: one copy a tensor, not kv_write's index of each entry")]
    [DataRow(80, 76_800L, 16, false, true, DisplayName = "ten long rows compacted: ten copies a tensor")]
    [DataRow(1_024, 2_688L, 16, false, false, DisplayName = "a catch-up of 42 entries in each of 64 rows: kv_write beats 1,024 copies")]
    public void SpansPay_FewCopiesOrFewerThanKvWriteWouldCost(int copies, long entries, int heads, bool entriesWrite, bool expected) =>
        Assert.AreEqual(expected, Kv.DeviceKvStorage.SpansPay(copies, entries, heads, entriesWrite));

    [TestMethod]
    public void Device_BudgetedCacheFedByTheTargetsLastPass_EqualsHost()
    {
        var export = TinyModels.Get("llama").Export;
        var (host, _) = BudgetScenario(export, new SessionSettings());
        var (device, entriesWrites) = BudgetScenario(export, Device);
        CollectionAssert.AreEqual(host, device);
        Assert.IsGreaterThan(0, entriesWrites, "the target's entries reach the budget through kv_write_entries");
    }

    [TestMethod]
    public void Device_ExportBeforeKvWriteEntries_EditsATensorAtATimeAndEqualsHost()
    {
        // Exporter 15 wrote no kv_write_entries: every edit runs kv_write, a gather and a scatter per tensor.
        var export = TinyModels.Get("llama").Export;
        var old = OlderExports.WithManifest(export, manifest =>
            Assert.IsTrue(manifest["kv_ops"]!.AsObject().Remove("write_entries"), "a fresh export names kv_write_entries"));
        try
        {
            var (hostLogits, hostKeys, _, _) = RaggedScenario(export, new SessionSettings(), expectDevice: false);
            var (deviceLogits, deviceKeys, _, raggedWrites) = RaggedScenario(old, Device, expectDevice: true);
            CollectionAssert.AreEqual(hostLogits, deviceLogits, "logits of every pass");
            CollectionAssert.AreEqual(hostKeys, deviceKeys, "layer 0 keys after the scenario");
            var (host, _) = BudgetScenario(export, new SessionSettings());
            var (device, budgetWrites) = BudgetScenario(old, Device);
            CollectionAssert.AreEqual(host, device);
            Assert.AreEqual(0, raggedWrites + budgetWrites);
        }
        finally
        {
            Directory.Delete(old, recursive: true);
        }
    }

    [TestMethod]
    [DataRow(null, true)]
    [DataRow("1", true)]
    [DataRow("0", false)]
    [DataRow(" 0 ", false)]
    public void SwitchedOn_OffOnlyForZero(string? value, bool expected) =>
        Assert.AreEqual(expected, Kv.DeviceKvMemory.SwitchedOn(value));

    [TestMethod]
    [DataRow(4096L, 2, 8, true, DisplayName = "65,536 entries of every tensor: one kv_write_entries run")]
    [DataRow(4097L, 2, 8, false, DisplayName = "one entry more: kv_write, a tensor at a time")]
    [DataRow(1L, 1, 65_537, false, DisplayName = "one entry of 65,537 tensors: kv_write")]
    public void WritesEntries_UpToAMiBOfIndices(long entries, int heads, int tensors, bool expected) =>
        Assert.AreEqual(expected, Kv.DeviceKvStorage.WritesEntries(entries, heads, tensors));

    [TestMethod]
    public void Device_LayerCondensedIterativePrefill_EqualsHost()
    {
        // Two cyclic blocks, R = 4 passes: a 10-token prompt runs the pending-KV iterations (kv_zeros, kv_copy).
        var spec = new TinyModelSpec
        {
            Architecture = "lckv", LayerTypes = "0_2_2_3_5_5", NumLayers = 6, ForwardPasses = 3, BackwardPasses = 1, Seed = 35,
            MaxPositionEmbeddings = 64,
        };
        var export = TinyExports.Get("lckv-two-blocks", spec).Export;
        CollectionAssert.AreEqual(PrefillThenDecode(export, new SessionSettings()), PrefillThenDecode(export, Device));
    }

    [TestMethod]
    public void Device_RowPrefillThroughASideCache_EqualsHost()
    {
        var export = TinyModels.Get("qwen2").Export;
        CollectionAssert.AreEqual(SideCacheScenario(export, new SessionSettings()), SideCacheScenario(export, Device));
    }

    [TestMethod]
    public void Device_ExportWithoutKvOps_SaysToExportAgain()
    {
        var export = TinyModels.Get("llama").Export;
        var old = OlderExports.WithManifest(export, manifest => manifest.Remove("kv_ops"));
        try
        {
            var error = Assert.ThrowsExactly<CondensaException>(() => DecoderModel.Load(old, Device));
            StringAssert.Contains(error.Message, "kv_ops");
            StringAssert.Contains(error.Message, "export the checkpoint again");
            using var host = DecoderModel.Load(old);   // host residence does not need them
            Assert.IsFalse(host.KvOnDevice);
        }
        finally
        {
            Directory.Delete(old, recursive: true);
        }
    }

    // Batch 3 with chunks of 4 slots: prefills of different lengths (one row idle), growth three times, a rewind, a
    // tree pass with compaction in one row, then decoding.
    private static (float[] Logits, byte[] Keys, int SpanCopies, int EntriesWrites) RaggedScenario(string export, SessionSettings settings, bool expectDevice)
    {
        using var model = DecoderModel.Load(export, settings);
        Assert.AreEqual(expectDevice, model.KvOnDevice);
        using var cache = model.CreateCache(3, new KvCacheOptions { GrowthChunk = 4 });
        Assert.AreEqual(expectDevice, cache.OnDevice);
        var logits = new List<float>();
        var prompt = TinyModels.Ids(3 * 6, seed: 51);
        for (var j = 0; j < 18; j++) if (j % 6 >= 5 || j / 6 == 2 && j % 6 >= 3) prompt[j] = 0;   // padding
        logits.AddRange(model.Forward(cache, prompt, [5, 6, 3], LogitsSelection.All).ToArray());
        logits.AddRange(model.Forward(cache, TinyModels.Ids(3, seed: 52), [1, 1, 0], LogitsSelection.LastPerRow).ToArray());
        cache.RewindTo(1, 4);

        int[] parents = [-1, 0, 0, 1, 2];
        var depths = new long[5];
        var visibility = new bool[3 * 5 * 5];
        var positions = new long[3 * 5];
        for (var b = 0; b < 3; b++)
        for (var j = 0; j < 5; j++)
        {
            for (var k = j; k >= 0; k = parents[k]) visibility[(b * 5 + j) * 5 + k] = true;
            depths[j] = parents[j] < 0 ? 0 : depths[parents[j]] + 1;
            positions[b * 5 + j] = cache.Lengths[b] + depths[j];
        }
        var tree = TinyModels.Ids(15, seed: 53);
        logits.AddRange(model.Forward(cache, new ForwardInputs(tree, [5, 5, 5], LogitsSelection.All) { Positions = positions, NewTokenVisibility = visibility })
            .ToArray());
        cache.KeepPath(0, cache.Lengths[0] - 5, [0, 2, 4]);
        cache.KeepPath(1, cache.Lengths[1] - 5, [0, 1, 3]);
        cache.RewindTo(2, cache.Lengths[2] - 5);
        for (var step = 0; step < 6; step++)
            logits.AddRange(model.Forward(cache, TinyModels.Ids(3, seed: 60 + step), [1, 1, 1], LogitsSelection.LastPerRow).ToArray());
        Assert.IsGreaterThanOrEqualTo(12, cache.Capacity, "the scenario grows the buffers past three chunks");
        return ([.. logits], cache.KeyBytes(0).ToArray(), cache.SpanCopies, cache.EntriesWrites);
    }

    // Batch 4: three rows prefilled, row 3's document moved into emptied row 0 (one strided copy a tensor), a path kept in
    // row 1 that moves one entry (strided) and one in row 2 that moves three entries one slot down (overlapping: a graph
    // run), then decoding.
    private static (float[] Logits, byte[] Keys, int SpanCopies, int EntriesWrites) MoveScenario(string export, SessionSettings settings)
    {
        using var model = DecoderModel.Load(export, settings);
        using var cache = model.CreateCache(4);
        var logits = new List<float>(model.Forward(cache, TinyModels.Ids(4 * 7, seed: 111), [5, 7, 6, 7], LogitsSelection.LastPerRow).ToArray());
        cache.RewindTo(0, 0);
        cache.MoveRows([new RowMove(3, 0)]);
        cache.KeepPath(1, 3, [0, 2]);
        cache.KeepPath(2, 2, [1, 2, 3]);
        for (var step = 0; step < 3; step++)
            logits.AddRange(model.Forward(cache, TinyModels.Ids(4, seed: 112 + step), [1, 1, 1, 0], LogitsSelection.LastPerRow).ToArray());
        return ([.. logits], cache.KeyBytes(0).ToArray(), cache.SpanCopies, cache.EntriesWrites);
    }

    // 17 rows take one token each (after a pass of 1-3 tokens a row where ragged), then their new entries are copied into
    // a second cache.
    private static (float[] Keys, int SpanCopies, int EntriesWrites) ManyRowsScenario(string export, SessionSettings settings, bool ragged)
    {
        using var model = DecoderModel.Load(export, settings);
        using var source = model.CreateCache(17);
        using var destination = model.CreateCache(17);
        var ones = Enumerable.Repeat(1, 17).ToArray();
        if (ragged) model.Forward(source, TinyModels.Ids(17 * 3, seed: 120), [.. Enumerable.Range(0, 17).Select(r => 1 + r % 3)], LogitsSelection.LastPerRow);
        model.Forward(source, TinyModels.Ids(17, seed: 121), ones, LogitsSelection.LastPerRow);
        source.CopyLastPassInto(destination, ones);
        return ([.. destination.KeyBytes(0).ToArray().Select(b => (float)b)], destination.SpanCopies, destination.EntriesWrites);
    }

    // A self-speculation draft's budget (sinks 2, window 4) filled from the target's passes, then drafting on it.
    private static (float[] Logits, int EntriesWrites) BudgetScenario(string export, SessionSettings settings)
    {
        using var model = DecoderModel.Load(export, settings);
        using var target = model.CreateCache(1);
        using var budget = model.CreateCache(1, new KvCacheOptions { Budget = new KvBudget(Sinks: 2, Window: 4, Slack: 2) });
        var logits = new List<float>();
        var prompt = TinyModels.Ids(11, seed: 71);
        model.Forward(target, prompt, [prompt.Length], LogitsSelection.LastPerRow);
        target.CopyLastPassInto(budget, [prompt.Length]);          // longer than the ring: only the latest positions stay
        for (var step = 0; step < 5; step++)
        {
            var token = TinyModels.Ids(1, seed: 72 + step);
            logits.AddRange(model.Forward(budget, token, [1], LogitsSelection.LastPerRow).ToArray());
            budget.RewindTo(0, budget.Lengths[0] - 1);
            model.Forward(target, token, [1], LogitsSelection.LastPerRow);
            target.CopyLastPassInto(budget, [1]);
        }
        return ([.. logits, .. budget.KeyBytes(0).ToArray().Select(b => (float)b)], budget.EntriesWrites);
    }

    private static float[] PrefillThenDecode(string export, SessionSettings settings)
    {
        using var model = DecoderModel.Load(export, settings);
        using var cache = model.CreateCache(1);
        var logits = new List<float>(model.Forward(cache, TinyModels.Ids(10, seed: 81), [10], LogitsSelection.All).ToArray());
        for (var step = 0; step < 3; step++)
            logits.AddRange(model.Forward(cache, TinyModels.Ids(1, seed: 82 + step), [1], LogitsSelection.LastPerRow).ToArray());
        return [.. logits];
    }

    // Row 1 of a batch-2 cache prefilled in two chunks through the batch-1 side cache, then both rows decode.
    private static float[] SideCacheScenario(string export, SessionSettings settings)
    {
        using var model = DecoderModel.Load(export, settings);
        using var cache = model.CreateCache(2, new KvCacheOptions { GrowthChunk = 4 });
        model.Forward(cache, [.. TinyModels.Ids(3, seed: 91), 0, 0, 0], [3, 0], LogitsSelection.LastPerRow);
        using var prefiller = new RowPrefiller(model);
        prefiller.Begin(cache, row: 1);
        var logits = new List<float>(prefiller.Feed(cache, TinyModels.Ids(5, seed: 92)).ToArray());
        logits.AddRange(prefiller.Feed(cache, TinyModels.Ids(4, seed: 93)).ToArray());
        for (var step = 0; step < 3; step++)
            logits.AddRange(model.Forward(cache, TinyModels.Ids(2, seed: 94 + step), [1, 1], LogitsSelection.LastPerRow).ToArray());
        return [.. logits];
    }
}
