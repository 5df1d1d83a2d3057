using Condensa.TestSupport;
using static Condensa.Runtime.Tests.AttentionGraphSettings;

namespace Condensa.Runtime.Tests;

/// <summary>
/// The causal graph (one GroupQueryAttention per layer, <see cref="SessionSettings.FusedAttention"/>) against the
/// reference model and against the general graph, on the CPU provider: the same logits for every pass it takes, and the
/// passes it cannot take still run the general graph.
/// </summary>
[TestClass]
public sealed class FusedAttentionTests
{
    private const double Tolerance = 1e-4;

    [TestMethod]
    [DataRow("llama")]
    [DataRow("qwen2")]
    public void Forward_FusedPrefillThenDecode_EqualsFullRecomputeAtEveryPosition(string name)
    {
        var (checkpoint, export) = TinyModels.Get(name);
        var ids = TinyModels.Ids(14, seed: 5);
        var expected = new ReferenceModel(checkpoint).Logits(ids);
        using var model = DecoderModel.Load(export, Fused);
        Assert.IsTrue(model.FusedAttention, "the causal graph is loaded");
        var vocab = model.Manifest.VocabSize;

        // a batch-1 chunk with every position's logits, then one token per step (small chunks force regrowth)
        using var cache = model.CreateCache(1, new KvCacheOptions { GrowthChunk = 4 });
        var prefill = model.Forward(cache, ids.AsSpan(0, 5), [5], LogitsSelection.All);
        for (var t = 0; t < 5; t++)
            Assert.IsLessThan(Tolerance, TinyModels.RelativeError(prefill.Slice(t * vocab, vocab), expected[t]), $"{name} prefill, position {t}");
        for (var t = 5; t < 9; t++)
        {
            var step = model.Forward(cache, ids.AsSpan(t, 1), [1], LogitsSelection.LastPerRow);
            Assert.IsLessThan(Tolerance, TinyModels.RelativeError(step, expected[t]), $"{name} decode, position {t}");
        }
        // a chunk after a past (GroupQueryAttention's subsequent prompt), then decode again
        var chunk = model.Forward(cache, ids.AsSpan(9, 3), [3], LogitsSelection.All);
        for (var t = 9; t < 12; t++)
            Assert.IsLessThan(Tolerance, TinyModels.RelativeError(chunk.Slice((t - 9) * vocab, vocab), expected[t]), $"{name} chunk, position {t}");
        for (var t = 12; t < ids.Length; t++)
        {
            var step = model.Forward(cache, ids.AsSpan(t, 1), [1], LogitsSelection.LastPerRow);
            Assert.IsLessThan(Tolerance, TinyModels.RelativeError(step, expected[t]), $"{name} decode, position {t}");
        }
        Assert.AreEqual(ids.Length, cache.Lengths[0]);
    }

    [TestMethod]
    public void Forward_FusedRaggedBatchDecode_EqualsGeneralGraphAndLeavesIdleRowsEntries()
    {
        var (_, export) = TinyModels.Get("qwen2");
        using var fused = DecoderModel.Load(export, Fused);
        using var general = DecoderModel.Load(export, new SessionSettings { FusedAttention = false });
        Assert.IsFalse(general.FusedAttention);
        var vocab = fused.Manifest.VocabSize;
        var tokens = RaggedPrompts();

        using var a = fused.CreateCache(3, new KvCacheOptions { GrowthChunk = 4 });
        using var c = general.CreateCache(3, new KvCacheOptions { GrowthChunk = 4 });
        AssertClose(general.Forward(c, tokens, [7, 3, 5], LogitsSelection.LastPerRow), fused.Forward(a, tokens, [7, 3, 5], LogitsSelection.LastPerRow), "prefill");
        for (var step = 0; step < 6; step++)
        {
            // row 1 sits out every other step: the causal graph writes its entry at its length, which it never reads
            int[] counts = [1, step % 2, 1];
            int[] next = [40 + step, 50 + step, 60 + step];
            var expected = general.Forward(c, next, counts, LogitsSelection.LastPerRow).ToArray();
            var actual = fused.Forward(a, next, counts, LogitsSelection.LastPerRow).ToArray();
            for (var b = 0; b < 3; b++)
                if (counts[b] == 1) AssertClose(expected.AsSpan(b * vocab, vocab), actual.AsSpan(b * vocab, vocab), $"step {step}, row {b}");
        }
        CollectionAssert.AreEqual(c.Lengths.ToArray(), a.Lengths.ToArray());
        for (var layer = 0; layer < a.StoredLayers; layer++)
        {
            AssertHeldEntriesClose(c, a, c.KeyBytes(layer), a.KeyBytes(layer), $"layer {layer} keys");
            AssertHeldEntriesClose(c, a, c.ValueBytes(layer), a.ValueBytes(layer), $"layer {layer} values");
        }
    }

    [TestMethod]
    public void Load_FusedAttentionOnAnExportWithoutCausalGraph_NamesTheManifest()
    {
        var (_, export) = TinyModels.Get("mistral");   // a sliding window: no causal graph
        var error = Assert.ThrowsExactly<CondensaException>(() => DecoderModel.Load(export, Fused));
        StringAssert.Contains(error.Message, "condensa.json");
        StringAssert.Contains(error.Message, "no causal graph");
        using var auto = DecoderModel.Load(export);
        Assert.IsFalse(auto.FusedAttention, "without a causal graph, auto loads only the general graph");
    }

    [TestMethod]
    public void Load_Auto_TakesTheCausalGraphOnTheCpuAndOffKeepsToTheGeneralOne()
    {
        var (_, export) = TinyModels.Get("llama");
        using (var auto = DecoderModel.Load(export)) Assert.IsTrue(auto.FusedAttention);
        using (var off = DecoderModel.Load(export, new SessionSettings { FusedAttention = false })) Assert.IsFalse(off.FusedAttention);
    }

    // The entries each row holds (slots below its length), as float32 [batch, kvHeads, capacity, headDim].
    private static void AssertHeldEntriesClose(KvCache expectedCache, KvCache actualCache, ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual, string what)
    {
        var e = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(expected);
        var a = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(actual);
        var m = expectedCache.Manifest;
        for (var b = 0; b < expectedCache.BatchSize; b++)
        for (var h = 0; h < m.NumKvHeads; h++)
        for (var s = 0; s < expectedCache.Lengths[b]; s++)
        for (var d = 0; d < m.HeadDim; d++)
        {
            var ei = ((b * m.NumKvHeads + h) * expectedCache.Capacity + s) * m.HeadDim + d;
            var ai = ((b * m.NumKvHeads + h) * actualCache.Capacity + s) * m.HeadDim + d;
            Assert.AreEqual(e[ei], a[ai], 1e-5f, $"{what}: row {b}, head {h}, slot {s}");
        }
    }

    [TestMethod]
    public void Forward_Fused_LoadsTheOtherGraphsOnlyForAPassTheCausalOneCannotTake()
    {
        var (_, export) = TinyModels.Get("llama");
        using var model = DecoderModel.Load(export, Fused);
        using var single = model.CreateCache(1);
        model.Forward(single, TinyModels.Ids(6, 7), [6], LogitsSelection.LastPerRow);   // a batch-1 chunk
        model.Forward(single, [9], [1], LogitsSelection.LastPerRow);                    // a decode step
        Assert.IsFalse(model.GeneralGraphLoaded, "batch-1 chunks and decode steps run the causal graph only");

        using var pair = model.CreateCache(2);
        model.Forward(pair, [.. TinyModels.Ids(3, 8), .. TinyModels.Ids(3, 9)], [3, 2], LogitsSelection.LastPerRow);   // a chunk at batch 2
        Assert.IsTrue(model.CausalRowsGraphLoaded, "a chunk at batch 2 runs the multi-row causal graph");
        Assert.IsFalse(model.GeneralGraphLoaded);
        model.Forward(pair, new ForwardInputs([1, 2, 3, 4], [2, 2], LogitsSelection.All) { Positions = [3, 3, 2, 2] });   // siblings: a tree level
        Assert.IsTrue(model.SlotsGraphLoaded, "explicit positions take the slots graph");
        Assert.IsFalse(model.GeneralGraphLoaded);

        using var budget = model.CreateCache(1, new KvCacheOptions { Budget = new KvBudget(Sinks: 1, Window: 8, Slack: 2) });
        model.Forward(budget, TinyModels.Ids(3, 7), [3], LogitsSelection.LastPerRow);
        Assert.IsTrue(model.GeneralGraphLoaded, "a budgeted pass longer than its slack takes the general graph");
    }

    [TestMethod]
    public void Forward_Fused_AMultiRowPassPast32TokensTakesTheGeneralGraph()
    {
        // the grouped causal bias grows with the pass (batch x G·tokens x capacity), so long multi-row passes leave it
        var (_, export) = TinyModels.Get("llama");
        using var model = DecoderModel.Load(export, Fused);
        using var pair = model.CreateCache(2);
        model.Forward(pair, [.. TinyModels.Ids(32, 8), .. TinyModels.Ids(32, 9)], [32, 32], LogitsSelection.LastPerRow);
        Assert.IsTrue(model.CausalRowsGraphLoaded, "32 tokens in each of 2 rows run the multi-row causal graph");
        Assert.IsFalse(model.GeneralGraphLoaded);
        model.Forward(pair, [.. TinyModels.Ids(33, 8), .. TinyModels.Ids(33, 9)], [33, 33], LogitsSelection.LastPerRow);
        Assert.IsTrue(model.GeneralGraphLoaded, "33 tokens in each of 2 rows take the general graph");
    }

    [TestMethod]
    [DataRow("llama")]
    [DataRow("qwen2")]
    public void Forward_MultiRowCausalGraph_EqualsGeneralGraphForRaggedChunksAndKeepsEachRowsEntries(string name)
    {
        var (_, export) = TinyModels.Get(name);
        using var fused = DecoderModel.Load(export, Fused);
        using var general = DecoderModel.Load(export, new SessionSettings { FusedAttention = false });
        Assert.IsNotNull(fused.Manifest.CausalRowsGraph, "the export has the multi-row causal graph");
        var vocab = fused.Manifest.VocabSize;
        var tokens = RaggedPrompts();

        using var a = fused.CreateCache(3, new KvCacheOptions { GrowthChunk = 4 });
        using var c = general.CreateCache(3, new KvCacheOptions { GrowthChunk = 4 });
        void AssertPassesClose(int[] next, int[] counts, string what)
        {
            var seqLen = next.Length / 3;
            var expected = general.Forward(c, next, counts, LogitsSelection.All).ToArray();
            var actual = fused.Forward(a, next, counts, LogitsSelection.All).ToArray();
            for (var b = 0; b < 3; b++)
                for (var j = 0; j < counts[b]; j++)   // padding positions' logits mean nothing
                    AssertClose(expected.AsSpan((b * seqLen + j) * vocab, vocab), actual.AsSpan((b * seqLen + j) * vocab, vocab), $"{name} {what}, row {b}, token {j}");
        }
        AssertPassesClose(tokens, [7, 3, 5], "ragged prefill");
        Assert.IsTrue(fused.CausalRowsGraphLoaded);
        for (var step = 0; step < 5; step++)
        {
            // verification-like chunks of 4: rows at different lengths, one short (2 real tokens) and one idle every other step
            var next = new int[3 * 4];
            for (var i = 0; i < next.Length; i++) next[i] = (17 * step + 5 * i) % vocab;
            AssertPassesClose(next, [4, step % 2 == 0 ? 0 : 4, 2], $"step {step}");
        }
        Assert.IsFalse(fused.GeneralGraphLoaded, "every pass took a causal graph");
        CollectionAssert.AreEqual(c.Lengths.ToArray(), a.Lengths.ToArray());
        for (var layer = 0; layer < a.StoredLayers; layer++)
        {
            AssertHeldEntriesClose(c, a, c.KeyBytes(layer), a.KeyBytes(layer), $"layer {layer} keys");
            AssertHeldEntriesClose(c, a, c.ValueBytes(layer), a.ValueBytes(layer), $"layer {layer} values");
        }
    }

    [TestMethod]
    public void Forward_MultiRowPassWhosePaddingPassesTheContextLimit_StaysOnTheCausalGraphsAndEqualsTheGeneralGraph()
    {
        // a verification pads every row to the longest proposal, so a row near the end of its context writes padding past
        // the limit: the rotary tables' padding rows and the cache's scratch slots keep such passes causal
        var (_, export) = TinyModels.Get("llama");
        using var fused = DecoderModel.Load(export, Fused);
        using var general = DecoderModel.Load(export, new SessionSettings { FusedAttention = false });
        var (vocab, limit) = (fused.Manifest.VocabSize, fused.Manifest.MaxContext);
        Assert.AreEqual(Condensa.Export.RopeSettings.PaddingRows, fused.Manifest.RotaryPaddingRows);
        using var a = fused.CreateCache(2);
        using var c = general.CreateCache(2);
        var prompt = new int[2 * (limit - 6)];
        for (var i = 0; i < prompt.Length; i++) prompt[i] = (7 * i + 3) % vocab;
        int[] promptCounts = [limit - 6, 5];
        general.Forward(c, prompt, promptCounts, LogitsSelection.LastPerRow);
        fused.Forward(a, prompt, promptCounts, LogitsSelection.LastPerRow);

        void AssertPassClose(int seqLen, int[] counts, string what)
        {
            var next = new int[2 * seqLen];
            for (var i = 0; i < next.Length; i++) next[i] = (11 * i + seqLen) % vocab;
            var before = fused.CausalPasses;
            var expected = general.Forward(c, next, counts, LogitsSelection.All).ToArray();
            var actual = fused.Forward(a, next, counts, LogitsSelection.All).ToArray();
            Assert.AreEqual(before + 1, fused.CausalPasses, $"{what}: a causal graph ran the pass");
            for (var b = 0; b < 2; b++)
                for (var j = 0; j < counts[b]; j++)
                    AssertClose(expected.AsSpan((b * seqLen + j) * vocab, vocab), actual.AsSpan((b * seqLen + j) * vocab, vocab), $"{what}, row {b}, token {j}");
        }
        AssertPassClose(16, [4, 16], "row 0 ends 2 short of the limit, its padding 10 past it");
        AssertPassClose(8, [2, 8], "row 0 reaches the limit, its padding 6 past it");
        AssertPassClose(1, [0, 1], "row 0 full and idle, its entry written past the limit");
        Assert.AreEqual(limit, a.Lengths[0]);
        CollectionAssert.AreEqual(c.Lengths.ToArray(), a.Lengths.ToArray());
        for (var layer = 0; layer < a.StoredLayers; layer++)
            AssertHeldEntriesClose(c, a, c.KeyBytes(layer), a.KeyBytes(layer), $"layer {layer} keys");
    }

    [TestMethod]
    public void Load_Bfloat16ExportOnTheCpu_SaysItNeedsAGpuProvider()
    {
        var (_, export) = TinyModels.Get("llama", Condensa.Export.ExportPrecision.Bf16);
        var error = Assert.ThrowsExactly<CondensaException>(() => DecoderModel.Load(export));
        StringAssert.Contains(error.Message, "condensa.json");
        StringAssert.Contains(error.Message, "bfloat16");
        StringAssert.Contains(error.Message, "--provider cuda");
        Assert.AreEqual(KvDataType.BFloat16, ModelManifest.Load(export).KvType);
        Assert.AreEqual(2L * 2 * 2 * 16 * 2, ModelManifest.Load(export).KvBytesPerToken, "2 bytes an element: K and V, 2 layers, 2 heads, 16 dims");
    }

    // A float16 export's causal graphs compute the MLP with ONNX Runtime's SwiGLU, whose only kernel is CUDA's: on the CPU auto
    // keeps it on the general graph, whose logits equal those of the same weights exported without SwiGLU (causal graph,
    // portable form), and forcing fused attention on there is one clear error.
    [TestMethod]
    public void Load_SwiGluExportOnTheCpu_RunsTheGeneralGraphOrSaysWhyNot()
    {
        var (_, export) = TinyModels.Get("llama", Condensa.Export.ExportPrecision.Fp16);
        var (_, portable) = TinyModels.Get("llama", Condensa.Export.ExportPrecision.Fp16, swiGlu: false);
        Assert.IsTrue(ModelManifest.Load(export).CudaSwiGlu);
        Assert.IsFalse(ModelManifest.Load(portable).CudaSwiGlu);

        using var model = DecoderModel.Load(export);
        using var reference = DecoderModel.Load(portable);
        Assert.IsFalse(model.FusedAttention, "the general graph");
        Assert.IsTrue(reference.FusedAttention, "the portable export keeps its causal graph on the CPU");
        var ids = TinyModels.Ids(9, seed: 4);
        using var a = model.CreateCache(1);
        using var c = reference.CreateCache(1);
        foreach (var (start, count) in new[] { (0, 8), (8, 1) })   // a prefill, then a decode step
        {
            double[] expected = [.. reference.Forward(c, ids.AsSpan(start, count), [count], LogitsSelection.LastPerRow).ToArray().Select(x => (double)x)];
            var actual = model.Forward(a, ids.AsSpan(start, count), [count], LogitsSelection.LastPerRow);
            Assert.IsLessThan(1e-2, TinyModels.RelativeError(actual, expected), $"{count} tokens from {start}");
        }

        var error = Assert.ThrowsExactly<CondensaException>(() => DecoderModel.Load(export, Fused));
        StringAssert.Contains(error.Message, "cuda_swiglu");
        StringAssert.Contains(error.Message, "SwiGLU");
        StringAssert.Contains(error.Message, "--fused-attention auto or off");
    }

    // Three prompts of 7, 3 and 5 tokens as one [3, 7] block (counts [7, 3, 5]), the rest padding.
    private static int[] RaggedPrompts()
    {
        int[][] prompts = [TinyModels.Ids(7, 1), TinyModels.Ids(3, 2), TinyModels.Ids(5, 3)];
        var tokens = new int[3 * 7];
        for (var b = 0; b < 3; b++) prompts[b].CopyTo(tokens, b * 7);
        return tokens;
    }

    private static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what)
    {
        Assert.AreEqual(expected.Length, actual.Length, what);
        for (var i = 0; i < expected.Length; i++)
            Assert.AreEqual(expected[i], actual[i], 1e-4f, $"{what}, logit {i}");
    }
}
