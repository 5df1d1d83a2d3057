using Condensa.TestSupport;

namespace Condensa.Runtime.Tests;

[TestClass]
public sealed class DecoderModelTests
{
    private const double Tolerance = 1e-4;

    [TestMethod]
    [DataRow("llama")]
    [DataRow("mistral")]
    [DataRow("qwen2")]
    public void Forward_PrefillThenDecode_EqualsFullRecomputeAtEveryPosition(string name)
    {
        var (checkpoint, export) = TinyModels.Get(name);
        var ids = TinyModels.Ids(14, seed: 3);
        var spec = TinyModels.Spec(name);
        var expected = new ReferenceModel(checkpoint, spec.SlidingWindow).Logits(ids);
        // the general graph (FusedAttentionTests checks the causal one against the same reference)
        using var model = DecoderModel.Load(export, new SessionSettings { FusedAttention = false });
        var vocab = model.Manifest.VocabSize;

        // full recompute through the graph: every position in one pass, empty cache
        using (var full = model.CreateCache(1))
        {
            var logits = model.Forward(full, ids, [ids.Length], LogitsSelection.All);
            for (var t = 0; t < ids.Length; t++)
                Assert.IsLessThan(Tolerance, TinyModels.RelativeError(logits.Slice(t * vocab, vocab), expected[t]), $"{name} full pass, position {t}");
        }

        // prefill 5 tokens, then one token per step through the cache (small chunks force regrowth)
        using var cache = model.CreateCache(1, new KvCacheOptions { GrowthChunk = 4 });
        var prefill = model.Forward(cache, ids.AsSpan(0, 5), [5], LogitsSelection.All);
        for (var t = 0; t < 5; t++)
            Assert.IsLessThan(Tolerance, TinyModels.RelativeError(prefill.Slice(t * vocab, vocab), expected[t]), $"{name} prefill, position {t}");
        for (var t = 5; t < ids.Length; t++)
        {
            var step = model.Forward(cache, ids.AsSpan(t, 1), [1], LogitsSelection.LastPerRow);
            Assert.IsLessThan(Tolerance, TinyModels.RelativeError(step, expected[t]), $"{name} decode, position {t}");
        }
        Assert.AreEqual(ids.Length, cache.Lengths[0]);
    }

    [TestMethod]
    public void Forward_RaggedBatch_EachRowEqualsItsSingleRun()
    {
        var (_, export) = TinyModels.Get("qwen2");
        using var model = DecoderModel.Load(export);
        var vocab = model.Manifest.VocabSize;
        int[][] prompts = [TinyModels.Ids(7, 1), TinyModels.Ids(3, 2), TinyModels.Ids(5, 3)];
        int[] followUps = [40, 41, 42];

        using var batch = model.CreateCache(3);
        var tokens = new int[3 * 7];
        for (var b = 0; b < 3; b++) prompts[b].CopyTo(tokens, b * 7);
        var batchPrefill = model.Forward(batch, tokens, [7, 3, 5], LogitsSelection.LastPerRow).ToArray();
        var batchStep = model.Forward(batch, followUps, [1, 1, 1], LogitsSelection.LastPerRow).ToArray();

        for (var b = 0; b < 3; b++)
        {
            using var single = model.CreateCache(1);
            var prefill = model.Forward(single, prompts[b], [prompts[b].Length], LogitsSelection.LastPerRow).ToArray();
            var step = model.Forward(single, [followUps[b]], [1], LogitsSelection.LastPerRow).ToArray();
            AssertClose(prefill, batchPrefill.AsSpan(b * vocab, vocab), $"row {b} prefill");
            AssertClose(step, batchStep.AsSpan(b * vocab, vocab), $"row {b} decode");
        }
    }

    [TestMethod]
    public void Forward_RowWithoutNewTokens_GraphLeavesItsSlotsAndWritesTheOthersInPlace()
    {
        var (_, export) = TinyModels.Get("llama");
        using var model = DecoderModel.Load(export);
        using var cache = model.CreateCache(2);
        model.Forward(cache, [5, 6, 7, 8, 9, 10], [3, 3], LogitsSelection.LastPerRow);
        var before = cache.KeyBytes(0).ToArray();

        // row 1 takes no token: the graph sends its entries to the scratch slot, so its slots stay as they were
        model.Forward(cache, [11, 12, 0, 0], [2, 0], LogitsSelection.LastPerRow);

        CollectionAssert.AreEqual(new[] { 5, 3 }, cache.Lengths.ToArray());
        var after = cache.KeyBytes(0).ToArray();
        var rowBytes = before.Length / 2;
        CollectionAssert.AreEqual(before[rowBytes..], after[rowBytes..], "row 1 is untouched");
        using var single = model.CreateCache(1);
        model.Forward(single, [5, 6, 7, 11, 12], [5], LogitsSelection.LastPerRow);
        var expected = single.KeyBytes(0).ToArray();
        var written = after[..rowBytes];
        var entries = cache.Manifest.NumKvHeads;
        var slotBytes = rowBytes / entries / cache.Capacity;
        for (var h = 0; h < entries; h++)
        for (var s = 0; s < 5; s++)
        {
            var got = written.AsSpan((h * cache.Capacity + s) * slotBytes, slotBytes).ToArray();
            var want = expected.AsSpan((h * single.Capacity + s) * slotBytes, slotBytes).ToArray();
            var gotF = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(got).ToArray();
            var wantF = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(want).ToArray().Select(v => (double)v).ToArray();
            Assert.IsLessThan(1e-5, TinyModels.RelativeError(gotF, wantF), $"head {h}, slot {s}");
        }
    }

    [TestMethod]
    public void RewindTo_ThenDecode_EqualsNeverHavingDecodedPastThatPoint()
    {
        var (_, export) = TinyModels.Get("llama");
        using var model = DecoderModel.Load(export);
        var prompt = TinyModels.Ids(6, 4);
        int[] rejected = [17, 18, 19];
        int[] accepted = [50, 51];

        using var rewound = model.CreateCache(1);
        model.Forward(rewound, prompt, [prompt.Length], LogitsSelection.LastPerRow);
        model.Forward(rewound, rejected, [rejected.Length], LogitsSelection.All);
        rewound.RewindTo(0, prompt.Length);
        var afterRewind = model.Forward(rewound, accepted, [accepted.Length], LogitsSelection.All).ToArray();

        using var clean = model.CreateCache(1);
        model.Forward(clean, prompt, [prompt.Length], LogitsSelection.LastPerRow);
        var neverRejected = model.Forward(clean, accepted, [accepted.Length], LogitsSelection.All).ToArray();

        AssertClose(neverRejected, afterRewind, "after rewind");
        Assert.AreEqual(prompt.Length + accepted.Length, rewound.Lengths[0]);
    }

    [TestMethod]
    public void Forward_PastMaxContext_ThrowsContextOverflow()
    {
        var (_, export) = TinyModels.Get("llama-long");
        using var model = DecoderModel.Load(export);
        using var cache = model.CreateCache(1);
        var ids = TinyModels.Ids(41, 5);
        var e = Assert.ThrowsExactly<CondensaException>(() => model.Forward(cache, ids, [ids.Length], LogitsSelection.LastPerRow));
        StringAssert.Contains(e.Message, "Context overflow");
        StringAssert.Contains(e.Message, "40");
    }

    /// <summary>The graph's rotary caches end at max_context and ONNX Runtime does not check the row it reads, so the host
    /// refuses a token position past them (a padding entry's position is unused and kept inside).</summary>
    [TestMethod]
    public void Forward_ExplicitPositionPastMaxContext_ThrowsNamingIt()
    {
        var (_, export) = TinyModels.Get("llama-long");
        using var model = DecoderModel.Load(export);
        using var cache = model.CreateCache(1);

        var e = Assert.ThrowsExactly<CondensaException>(() =>
            model.Forward(cache, new ForwardInputs([5, 6], [2], LogitsSelection.All) { Positions = [39, 40] }));

        StringAssert.Contains(e.Message, "position 40");
        StringAssert.Contains(e.Message, "max_context 40");
        Assert.AreEqual(0, cache.Lengths[0], "nothing was written");
    }

    [TestMethod]
    public void Forward_RowAtMaxContextPaddedWhileAnotherDecodes_Runs()
    {
        var (_, export) = TinyModels.Get("llama-long");
        using var model = DecoderModel.Load(export);
        using var cache = model.CreateCache(2);
        var full = TinyModels.Ids(40, 5);
        model.Forward(cache, [.. full, .. full], [40, 3], LogitsSelection.LastPerRow);

        model.Forward(cache, [0, 7], [0, 1], LogitsSelection.LastPerRow);

        CollectionAssert.AreEqual(new[] { 40, 4 }, cache.Lengths.ToArray());
    }

    [TestMethod]
    public void Load_NotAnExport_NamesManifest()
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        var e = Assert.ThrowsExactly<CondensaException>(() => DecoderModel.Load(dir));
        StringAssert.Contains(e.Message, ModelManifest.FileName);
    }

    private static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what)
    {
        double diff = 0, scale = 0;
        for (var i = 0; i < expected.Length; i++)
        {
            diff = Math.Max(diff, Math.Abs(expected[i] - actual[i]));
            scale = Math.Max(scale, Math.Abs(expected[i]));
        }
        Assert.IsLessThan(1e-5, diff / scale, what);
    }
}
