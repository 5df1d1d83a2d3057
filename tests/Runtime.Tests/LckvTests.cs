using Condensa.Export;
using Condensa.Runtime.Generation;
using Condensa.TestSupport;

namespace Condensa.Runtime.Tests;

/// <summary>Layer-condensed KV end to end: export, condensed cache, exact decode and the iterative prefill,
/// against <see cref="LckvReferenceModel"/> (float64, no ONNX).</summary>
[TestClass]
public sealed class LckvTests
{
    private const double Tolerance = 1e-4;

    // R = forward 3 + backward 1 = 4 passes, so tests cross the token-by-token / iterative boundary cheaply.
    private static TinyModelSpec Spec(string name) => name switch
    {
        "sandwich" => Lckv("0_3_3_3_4", seed: 31),
        "sandwich-diag" => Lckv("0_3_3_3_4", seed: 32) with { ForceNodiag = false },
        "cla" => Lckv("0_0_2_2", seed: 33),
        "sliding" => Lckv("0s_3s_3_3_4s", seed: 34) with { LckvSlidingWindow = 3 },
        "two-blocks" => Lckv("0_2_2_3_5_5", seed: 35),
        _ => throw new ArgumentException(name, nameof(name)),
    };

    private static TinyModelSpec Lckv(string layerTypes, int seed) => new()
    {
        Architecture = "lckv", LayerTypes = layerTypes, NumLayers = layerTypes.Split('_').Length,
        ForwardPasses = 3, BackwardPasses = 1, Seed = seed, MaxPositionEmbeddings = 64,
    };

    // Every configuration of Spec: the decode tests run each.
    public static IEnumerable<object[]> Configs => [["sandwich"], ["sandwich-diag"], ["cla"], ["sliding"], ["two-blocks"]];

    private static (string Checkpoint, string Export) Get(string name, ExportPrecision precision = ExportPrecision.Fp32) =>
        TinyExports.Get("lckv-" + name, Spec(name), precision);

    private static void AssertRows(ReadOnlySpan<float> logits, double[][] expected, int from, string what, double tolerance = Tolerance)
    {
        var vocab = expected[0].Length;
        for (var t = 0; t < logits.Length / vocab; t++)
        {
            var error = TinyModels.RelativeError(logits.Slice(t * vocab, vocab), expected[from + t]);
            Assert.IsLessThan(tolerance, error, $"{what}: position {from + t}, relative error {error:E2}");
        }
    }

    [TestMethod]
    [DataRow(true)]
    [DataRow(false)]
    public void Forward_UseSequential_ChunkLongerThanRIsExactOnlyWithIt(bool useSequential)
    {
        // 13 tokens in one chunk (R = 4): with use_sequential every position equals token-by-token decoding; without it
        // the iterative prefill approximates the later positions
        var spec = Lckv("0_3_3_3_4", seed: 36) with { UseSequential = useSequential };
        var (checkpoint, export) = TinyExports.Get($"lckv-sequential-{useSequential}", spec);
        var ids = TinyExports.Ids(13, seed: 6);
        var expected = new LckvReferenceModel(checkpoint).Sequential(ids);
        using var model = DecoderModel.Load(export);
        Assert.AreEqual(useSequential, model.Manifest.UseSequential);
        using var pair = model.CreateCache(2);
        var tokens = new int[2 * 13];
        ids.CopyTo(tokens, 0);
        ids.AsSpan(0, 9).CopyTo(tokens.AsSpan(13));                                   // a ragged second row: 9 tokens
        var logits = model.Forward(pair, tokens, [13, 9], LogitsSelection.All).ToArray();
        var vocab = model.Manifest.VocabSize;
        var errors = Enumerable.Range(0, 13).Select(t => TinyModels.RelativeError(logits.AsSpan(t * vocab, vocab), expected[t])).ToArray();
        if (useSequential)
        {
            for (var t = 0; t < 13; t++) Assert.IsLessThan(Tolerance, errors[t], $"position {t}");
            for (var t = 0; t < 9; t++)
                Assert.IsLessThan(Tolerance, TinyModels.RelativeError(logits.AsSpan((13 + t) * vocab, vocab), expected[t]), $"row 1, position {t}");
            CollectionAssert.AreEqual(new[] { 13, 9 }, pair.Lengths.ToArray());
        }
        else
        {
            Assert.IsGreaterThan(Tolerance, errors.Max(), "the iterative prefill is an approximation past R tokens");
        }
    }

    [TestMethod]
    [DynamicData(nameof(Configs))]
    public void Forward_TokenByToken_EqualsSequentialReferenceExactly(string name)
    {
        var (checkpoint, export) = Get(name);
        var ids = TinyExports.Ids(13, seed: 5);
        var expected = new LckvReferenceModel(checkpoint).Sequential(ids);
        using var model = DecoderModel.Load(export);
        using var cache = model.CreateCache(1, new KvCacheOptions { GrowthChunk = 4 });   // regrowth on the way
        for (var p = 0; p < ids.Length; p++)
            AssertRows(model.Forward(cache, ids.AsSpan(p, 1), [1], LogitsSelection.LastPerRow), expected, p, name);
        Assert.IsGreaterThanOrEqualTo(4, expected.Select(r => Array.IndexOf(r, r.Max())).Distinct().Count(), "logits must vary");
    }

    [TestMethod]
    [DynamicData(nameof(Configs))]
    public void Forward_CausalGraphDecode_EqualsSequentialReferenceInARaggedBatch(string name)
    {
        // prompts of at most R tokens iterate on the general graph and are exact; then every decode step runs the causal
        // graph, with rows at different lengths and row 1 sitting out every other step
        var (checkpoint, export) = Get(name);
        var reference = new LckvReferenceModel(checkpoint);
        int[][] ids = [TinyExports.Ids(11, seed: 21), TinyExports.Ids(11, seed: 22), TinyExports.Ids(11, seed: 23)];
        var expected = ids.Select(row => reference.Sequential(row)).ToArray();
        int[] lengths = [3, 1, 4];
        using var model = DecoderModel.Load(export, new SessionSettings { FusedAttention = true });
        Assert.IsTrue(model.FusedAttention, "the export has a causal graph");
        var vocab = model.Manifest.VocabSize;
        using var cache = model.CreateCache(3, new KvCacheOptions { GrowthChunk = 4 });   // regrowth on the way
        var prompts = new int[3 * 4];
        for (var b = 0; b < 3; b++) ids[b].AsSpan(0, lengths[b]).CopyTo(prompts.AsSpan(b * 4));
        var logits = model.Forward(cache, prompts, lengths, LogitsSelection.LastPerRow).ToArray();
        for (var b = 0; b < 3; b++) AssertRows(logits.AsSpan(b * vocab, vocab), expected[b], lengths[b] - 1, $"{name} row {b} prompt");
        Assert.AreEqual(0, model.CausalPasses, "a prompt chunk iterates on the general graph");

        for (var step = 0; step < 7; step++)
        {
            int[] counts = [1, step % 2, 1];
            var tokens = new int[3];
            for (var b = 0; b < 3; b++) tokens[b] = counts[b] == 1 ? ids[b][lengths[b]] : 0;
            logits = model.Forward(cache, tokens, counts, LogitsSelection.LastPerRow).ToArray();
            for (var b = 0; b < 3; b++)
            {
                if (counts[b] == 0) continue;
                AssertRows(logits.AsSpan(b * vocab, vocab), expected[b], lengths[b], $"{name} step {step} row {b}");
                lengths[b]++;
            }
        }
        Assert.AreEqual(7, model.CausalPasses, "every decode step ran the causal graph");
        CollectionAssert.AreEqual(lengths, cache.Lengths.ToArray());
    }

    [TestMethod]
    public void Forward_CausalGraph_ARowsFirstTokenIsAPrefillOnTheGeneralGraph()
    {
        // at position 0 a layer without the diagonal admits nothing (its output is 0), which the causal graph does not express
        var (checkpoint, export) = Get("sandwich");
        var ids = TinyExports.Ids(3, seed: 24);
        var expected = new LckvReferenceModel(checkpoint).Sequential(ids);
        using var model = DecoderModel.Load(export, new SessionSettings { FusedAttention = true });
        using var cache = model.CreateCache(1);
        AssertRows(model.Forward(cache, ids.AsSpan(0, 1), [1], LogitsSelection.LastPerRow), expected, 0, "first token");
        Assert.AreEqual(0, model.CausalPasses);
        for (var p = 1; p < ids.Length; p++)
            AssertRows(model.Forward(cache, ids.AsSpan(p, 1), [1], LogitsSelection.LastPerRow), expected, p, $"position {p}");
        Assert.AreEqual(2, model.CausalPasses);
    }

    [TestMethod]
    public void Forward_AutoOnTheCpu_LongContextDecodeLeavesTheCausalGraphForManyQueryHeadsPerKvHead()
    {
        // From 1,024 tokens on, CPU decode steps of a model with more than two query heads per KV head leave
        // GroupQueryAttention's causal graph for the general one; a layer-condensed model's causal graph (ONNX Attention)
        // and a model with at most two query heads per KV head measured faster there, so they keep it
        const int context = 1030;
        var (_, lckv) = TinyExports.Get("lckv-1100", Lckv("0_3_3_3_4", seed: 37) with { MaxPositionEmbeddings = 1100 });
        var (_, pairs) = TinyExports.Get("llama-1100", new TinyModelSpec { Seed = 38, MaxPositionEmbeddings = 1100 });   // 4 heads on 2
        var (_, eights) = TinyExports.Get("llama-1100-g8", new TinyModelSpec { Seed = 39, MaxPositionEmbeddings = 1100, NumHeads = 8, NumKvHeads = 1 });
        foreach (var (export, keeps, what) in new[] { (lckv, true, "layer-condensed"), (pairs, true, "2 query heads per KV head"), (eights, false, "8 query heads per KV head") })
        {
            using var model = DecoderModel.Load(export);   // auto: the causal graph loads on the CPU
            Assert.IsTrue(model.FusedAttention);
            using var cache = model.CreateCache(1);
            SyntheticContext.Fill(cache, context);
            model.Forward(cache, [5], [1], LogitsSelection.LastPerRow);
            Assert.AreEqual(keeps ? 1 : 0, model.CausalPasses, what);
        }
    }

    [TestMethod]
    [DataRow("sandwich")]
    [DataRow("sliding")]
    [DataRow("two-blocks")]
    public void Forward_ReleasedDecodeTokenByToken_EqualsReleasedReferenceNotPaper(string name)
    {
        // lckv_released_decode: the layers reading a higher layer attend to a zero placeholder and to p - 2 and before
        var spec = Spec(name) with { LckvReleasedDecode = true };
        var (checkpoint, export) = TinyExports.Get($"lckv-released-{name}", spec);
        var ids = TinyExports.Ids(13, seed: 5);
        var reference = new LckvReferenceModel(checkpoint);
        Assert.IsTrue(reference.Config.Lckv!.ReleasedDecode);
        var expected = reference.Sequential(ids);
        using var model = DecoderModel.Load(export);
        using var cache = model.CreateCache(1, new KvCacheOptions { GrowthChunk = 4 });
        var errorsToPaper = new List<double>();
        var paper = new LckvReferenceModel(Get(name).Checkpoint).Sequential(ids);
        for (var p = 0; p < ids.Length; p++)
        {
            var logits = model.Forward(cache, ids.AsSpan(p, 1), [1], LogitsSelection.LastPerRow);
            AssertRows(logits, expected, p, name);
            errorsToPaper.Add(TinyModels.RelativeError(logits, paper[p]));
        }
        Assert.IsGreaterThan(1e-3, errorsToPaper.Max(), "the released decode differs from the paper's");
    }

    [TestMethod]
    [DataRow("sandwich", new[] { 4, 1, 1, 1, 1, 1 })]       // a prompt of R tokens: the released code runs it token by token
    [DataRow("sliding", new[] { 3, 1, 1, 1, 1, 1, 1 })]
    [DataRow("sandwich", new[] { 7, 1, 1, 1, 1 })]          // longer than R: the iterative prefill, then released decode
    [DataRow("sliding", new[] { 8, 1, 1, 1 })]
    public void Forward_ReleasedDecodePromptThenDecode_EqualsReleasedReference(string name, int[] chunks)
    {
        var spec = Spec(name) with { LckvReleasedDecode = true };
        var (checkpoint, export) = TinyExports.Get($"lckv-released-{name}", spec);
        var ids = TinyExports.Ids(chunks.Sum(), seed: 9);
        var expected = new LckvReferenceModel(checkpoint).Iterative(ids, chunks);
        using var model = DecoderModel.Load(export);
        using var cache = model.CreateCache(1);
        var start = 0;
        foreach (var chunk in chunks)
        {
            AssertRows(model.Forward(cache, ids.AsSpan(start, chunk), [chunk], LogitsSelection.All), expected, start, $"chunk at {start}");
            start += chunk;
        }
    }

    [TestMethod]
    [DataRow("sandwich")]
    [DataRow("sliding")]
    [DataRow("two-blocks")]
    public void Forward_PromptLongerThanPasses_EqualsIterativeReference(string name)
    {
        var (checkpoint, export) = Get(name);
        var ids = TinyExports.Ids(11, seed: 6);
        var reference = new LckvReferenceModel(checkpoint);
        var expected = reference.Iterative(ids);
        using var model = DecoderModel.Load(export);
        using var cache = model.CreateCache(1);
        AssertRows(model.Forward(cache, ids, [ids.Length], LogitsSelection.All), expected, 0, name);
        Assert.AreEqual(ids.Length, cache.Lengths[0]);

        // the iterative prefill is an approximation: its late positions differ from sequential decoding
        var sequential = reference.Sequential(ids);
        Assert.IsGreaterThan(1e-3, TinyModels.RelativeError(model.Forward(model.CreateCache(1), ids, [ids.Length], LogitsSelection.LastPerRow), sequential[^1]));
    }

    [TestMethod]
    public void Forward_ChunkedPrefillThenDecode_EqualsReferenceWithSameChunks()
    {
        var (checkpoint, export) = Get("sandwich");
        var ids = TinyExports.Ids(17, seed: 7);
        int[] chunks = [6, 6, 2, 1, 1, 1];   // two iterated chunks, a short one (exact), then decode steps
        var expected = new LckvReferenceModel(checkpoint).Iterative(ids, chunks);
        using var model = DecoderModel.Load(export);
        using var cache = model.CreateCache(1, new KvCacheOptions { GrowthChunk = 5 });
        var start = 0;
        foreach (var chunk in chunks)
        {
            AssertRows(model.Forward(cache, ids.AsSpan(start, chunk), [chunk], LogitsSelection.All), expected, start, $"chunk at {start}");
            start += chunk;
        }
    }

    [TestMethod]
    [DataRow("sandwich")]
    [DataRow("two-blocks")]
    public void Forward_Prefill_IsPrefixCausal(string name)
    {
        var (_, export) = Get(name);
        var ids = TinyExports.Ids(14, seed: 8);
        using var model = DecoderModel.Load(export);
        using var shortCache = model.CreateCache(1);
        var prefix = model.Forward(shortCache, ids.AsSpan(0, 9), [9], LogitsSelection.All).ToArray();
        using var longCache = model.CreateCache(1);
        var full = model.Forward(longCache, ids, [ids.Length], LogitsSelection.All);
        var vocab = model.Manifest.VocabSize;
        for (var t = 0; t < 9; t++)
        {
            var error = TinyModels.RelativeError(full.Slice(t * vocab, vocab), [.. prefix.AsSpan(t * vocab, vocab).ToArray().Select(v => (double)v)]);
            Assert.IsLessThan(1e-5, error, $"{name}: position {t} of prefill(9) vs prefill(14)");
        }
    }

    [TestMethod]
    [DataRow(4)]   // = R
    [DataRow(3)]
    [DataRow(2)]
    public void Forward_ShortPrompt_EqualsTokenByTokenDecode(int length)
    {
        var (checkpoint, export) = Get("two-blocks");
        var ids = TinyExports.Ids(length, seed: 9);
        using var model = DecoderModel.Load(export);
        var vocab = model.Manifest.VocabSize;
        using var stepCache = model.CreateCache(1);
        var stepped = new double[length][];
        for (var p = 0; p < length; p++)
            stepped[p] = [.. model.Forward(stepCache, ids.AsSpan(p, 1), [1], LogitsSelection.LastPerRow).ToArray().Select(v => (double)v)];
        using var cache = model.CreateCache(1);
        var prompt = model.Forward(cache, ids, [length], LogitsSelection.All);
        AssertRows(prompt, stepped, 0, $"prompt of {length}", 1e-5);
        AssertRows(prompt, new LckvReferenceModel(checkpoint).Sequential(ids), 0, $"prompt of {length} vs sequential reference");
    }

    [TestMethod]
    public void Forward_RaggedBatch_EachRowEqualsItsSingleRun()
    {
        var (_, export) = Get("sandwich");
        using var model = DecoderModel.Load(export);
        var vocab = model.Manifest.VocabSize;
        int[][] prompts = [TinyExports.Ids(9, 1), TinyExports.Ids(3, 2), TinyExports.Ids(6, 3)];
        using var batch = model.CreateCache(3);
        var tokens = new int[3 * 9];
        for (var b = 0; b < 3; b++) prompts[b].CopyTo(tokens, b * 9);
        var batchPrefill = model.Forward(batch, tokens, [9, 3, 6], LogitsSelection.LastPerRow).ToArray();
        var batchStep = model.Forward(batch, [40, 41, 42], [1, 1, 1], LogitsSelection.LastPerRow).ToArray();
        for (var b = 0; b < 3; b++)
        {
            using var single = model.CreateCache(1);
            var prefill = model.Forward(single, prompts[b], [prompts[b].Length], LogitsSelection.LastPerRow).ToArray();
            var step = model.Forward(single, [40 + b], [1], LogitsSelection.LastPerRow).ToArray();
            AssertRows(batchPrefill.AsSpan(b * vocab, vocab), [[.. prefill.Select(v => (double)v)]], 0, $"row {b} prefill", 1e-5);
            AssertRows(batchStep.AsSpan(b * vocab, vocab), [[.. step.Select(v => (double)v)]], 0, $"row {b} decode", 1e-5);
        }
    }

    [TestMethod]
    public void Generate_Greedy_EqualsReferencePrefillThenSequentialDecode()
    {
        var (checkpoint, export) = Get("sandwich");
        using var model = DecoderModel.Load(export);
        var prompt = TinyExports.Ids(7, seed: 10);
        var options = new GenerationOptions { MaxNewTokens = 6, PrefillChunk = 64 };
        var generated = new Generator(model).GenerateBatch([prompt], options)[0].Tokens;

        // reference: the same prompt chunk, then one token at a time, greedy
        var reference = new LckvReferenceModel(checkpoint);
        var sequence = prompt.ToList();
        var expected = new List<int>();
        for (var i = 0; i < 6; i++)
        {
            var logits = reference.Iterative(sequence, [prompt.Length, .. Enumerable.Repeat(1, sequence.Count - prompt.Length)])[^1];
            var next = Array.IndexOf(logits, logits.Max());
            expected.Add(next);
            sequence.Add(next);
        }
        CollectionAssert.AreEqual(expected, generated.ToList());
    }

    [TestMethod]
    public void Forward_Fp16Export_DecodeCloseToReference()
    {
        var (checkpoint, export) = Get("sliding", ExportPrecision.Fp16);
        var ids = TinyExports.Ids(9, seed: 11);
        var expected = new LckvReferenceModel(checkpoint).Sequential(ids);
        using var model = DecoderModel.Load(export);
        using var cache = model.CreateCache(1);
        Assert.AreEqual(KvDataType.Float16, model.Manifest.KvType);
        for (var p = 0; p < ids.Length; p++)
            AssertRows(model.Forward(cache, ids.AsSpan(p, 1), [1], LogitsSelection.LastPerRow), expected, p, "fp16", 2e-2);
    }
}
