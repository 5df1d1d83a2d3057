using Condensa.TestSupport;

namespace Condensa.Export.Tests;

[TestClass]
public sealed class CheckpointExporterTests
{
    private static readonly int[] Prompt = [1, 17, 250, 3, 99, 42, 7, 300, 128, 64, 5, 211];

    private static TinyModelSpec Spec(string variant) => variant switch
    {
        "llama-gqa-llama3-tied" => new TinyModelSpec { Architecture = "llama", RopeType = "llama3", RopeTheta = 500000, TieWordEmbeddings = true },
        "llama-default-untied" => new TinyModelSpec { Architecture = "llama", NumKvHeads = 4, Seed = 7 },
        "llama-biases-v5" => new TinyModelSpec { Architecture = "llama", AttentionBias = true, MlpBias = true, V5Layout = true, RopeType = "linear", RopeFactor = 2, Seed = 11 },
        "mistral" => new TinyModelSpec { Architecture = "mistral", SlidingWindow = 4096, Seed = 3 },
        "qwen2" => new TinyModelSpec { Architecture = "qwen2", RopeTheta = 1000000, TieWordEmbeddings = true, Seed = 5 },
        "llama-bf16" => new TinyModelSpec { Architecture = "llama", Dtype = SafeTensorDtype.BF16, Seed = 13 },
        "llama-f16-sharded" => new TinyModelSpec { Architecture = "llama", Dtype = SafeTensorDtype.F16, Shards = 3, Seed = 17 },
        _ => throw new ArgumentException(variant),
    };

    private static (ExportResult Export, ReferenceModel Reference) ExportTiny(TempDir tmp, TinyModelSpec spec,
        ExportPrecision precision = ExportPrecision.Fp32, int? referenceWindow = null)
    {
        TinyCheckpoint.Write(tmp.Sub("ckpt"), spec);
        var result = CheckpointExporter.Export(tmp.Sub("ckpt"), tmp.Sub("out"), new ExportOptions { Precision = precision });
        return (result, new ReferenceModel(tmp.Sub("ckpt"), referenceWindow));
    }

    private static int[][] Positions(int batch, int from, int count) =>
        Enumerable.Range(0, batch).Select(_ => Enumerable.Range(from, count).ToArray()).ToArray();

    [TestMethod]
    [DataRow("llama-gqa-llama3-tied")]
    [DataRow("llama-default-untied")]
    [DataRow("llama-biases-v5")]
    [DataRow("mistral")]
    [DataRow("qwen2")]
    [DataRow("llama-bf16")]
    [DataRow("llama-f16-sharded")]
    public void Export_Fp32Checkpoint_LogitsMatchReference(string variant)
    {
        using var tmp = new TempDir();
        var (export, reference) = ExportTiny(tmp, Spec(variant));
        using var runner = new OnnxGraphRunner(export.ModelPath);
        var harness = new DecoderHarness(runner, reference.Config);

        // The past has capacity 4 and every slot blocked: the cache is there but must not leak in.
        var outputs = harness.Step([Prompt], Positions(1, 0, Prompt.Length), capacity: 4, pastLen: [0]);

        var expected = reference.Logits(Prompt);
        var actual = Enumerable.Range(0, Prompt.Length).Select(i => DecoderHarness.LogitsAt(outputs[GraphNames.Logits], 0, i)).ToList();
        double error = DecoderHarness.RelativeError(actual, expected);
        Assert.IsLessThan(1e-4, error, $"{variant}: relative error {error:E2}");
        // A degenerate model (same argmax everywhere) would make the comparison weak.
        Assert.IsGreaterThanOrEqualTo(4, expected.Select(DecoderHarness.ArgMax).Distinct().Count());
    }

    [TestMethod]
    public void Export_PrefillThenCachedContinuation_LogitsMatchReference()
    {
        using var tmp = new TempDir();
        var (export, reference) = ExportTiny(tmp, Spec("llama-gqa-llama3-tied"));
        using var runner = new OnnxGraphRunner(export.ModelPath);
        var harness = new DecoderHarness(runner, reference.Config);
        var c = reference.Config;
        const int first = 7, capacity = 16;

        // 1) prefill 7 tokens against an all-blocked past of 8 slots
        var prefill = harness.Step([Prompt[..first]], Positions(1, 0, first), capacity: 8, pastLen: [0]);
        // 2) the host writes new.* into slots 0..6 of its 16-slot buffers
        var keys = new float[c.NumLayers][];
        var values = new float[c.NumLayers][];
        for (int l = 0; l < c.NumLayers; l++)
        {
            keys[l] = new float[c.NumKvHeads * capacity * c.HeadDim];
            values[l] = new float[c.NumKvHeads * capacity * c.HeadDim];
            harness.WriteKv(keys[l], prefill[GraphNames.NewKey(l)].F, 1, capacity, first, 0);
            harness.WriteKv(values[l], prefill[GraphNames.NewValue(l)].F, 1, capacity, first, 0);
        }
        // 3) the remaining tokens see slots 0..6 plus themselves causally
        int rest = Prompt.Length - first;
        var step = harness.Step([Prompt[first..]], Positions(1, first, rest), capacity, pastLen: [first], keys, values);

        var expected = reference.Logits(Prompt).Skip(first).ToList();
        var actual = Enumerable.Range(0, rest).Select(i => DecoderHarness.LogitsAt(step[GraphNames.Logits], 0, i)).ToList();
        Assert.IsLessThan(1e-4, DecoderHarness.RelativeError(actual, expected));
    }

    [TestMethod]
    public void Export_BatchOfTwo_RowsEqualSingleRuns()
    {
        using var tmp = new TempDir();
        var (export, reference) = ExportTiny(tmp, Spec("qwen2"));
        using var runner = new OnnxGraphRunner(export.ModelPath);
        var harness = new DecoderHarness(runner, reference.Config);
        int[] a = Prompt[..6], b = [9, 8, 7, 6, 5, 4];

        var batch = harness.Step([a, b], Positions(2, 0, 6), capacity: 4, pastLen: [0, 0]);
        var singleA = harness.Step([a], Positions(1, 0, 6), capacity: 4, pastLen: [0]);
        var singleB = harness.Step([b], Positions(1, 0, 6), capacity: 4, pastLen: [0]);

        for (int i = 0; i < 6; i++)
        {
            var rowA = DecoderHarness.LogitsAt(batch[GraphNames.Logits], 0, i);
            var rowB = DecoderHarness.LogitsAt(batch[GraphNames.Logits], 1, i);
            Assert.IsLessThan(1e-5, DecoderHarness.RelativeError([rowA], [Array.ConvertAll(DecoderHarness.LogitsAt(singleA[GraphNames.Logits], 0, i), v => (double)v)]));
            Assert.IsLessThan(1e-5, DecoderHarness.RelativeError([rowB], [Array.ConvertAll(DecoderHarness.LogitsAt(singleB[GraphNames.Logits], 0, i), v => (double)v)]));
        }
        CollectionAssert.AreNotEqual(DecoderHarness.LogitsAt(batch[GraphNames.Logits], 0, 5), DecoderHarness.LogitsAt(batch[GraphNames.Logits], 1, 5));
    }

    [TestMethod]
    public void Export_SlidingWindowInHostMask_MatchesWindowedReference()
    {
        using var tmp = new TempDir();
        var (export, reference) = ExportTiny(tmp, Spec("mistral") with { SlidingWindow = 4 }, referenceWindow: 4);
        using var runner = new OnnxGraphRunner(export.ModelPath);
        var harness = new DecoderHarness(runner, reference.Config);

        var outputs = harness.Step([Prompt], Positions(1, 0, Prompt.Length), capacity: 4, pastLen: [0], window: 4);

        var actual = Enumerable.Range(0, Prompt.Length).Select(i => DecoderHarness.LogitsAt(outputs[GraphNames.Logits], 0, i)).ToList();
        Assert.IsLessThan(1e-4, DecoderHarness.RelativeError(actual, reference.Logits(Prompt)));
        Assert.AreEqual(4, export.Manifest.SlidingWindow);
    }

    [TestMethod]
    public void Export_LogitsIndex_ReturnsOnlyRequestedPositions()
    {
        using var tmp = new TempDir();
        var (export, reference) = ExportTiny(tmp, Spec("llama-default-untied"));
        using var runner = new OnnxGraphRunner(export.ModelPath);
        var harness = new DecoderHarness(runner, reference.Config);

        var outputs = harness.Step([Prompt], Positions(1, 0, Prompt.Length), capacity: 4, pastLen: [0], logitsIndex: [[11, 3]]);

        var logits = outputs[GraphNames.Logits];
        CollectionAssert.AreEqual(new long[] { 1, 2, reference.Config.VocabSize }, logits.Shape);
        var expected = reference.Logits(Prompt);
        Assert.IsLessThan(1e-4, DecoderHarness.RelativeError([DecoderHarness.LogitsAt(logits, 0, 0)], [expected[11]]));
        Assert.IsLessThan(1e-4, DecoderHarness.RelativeError([DecoderHarness.LogitsAt(logits, 0, 1)], [expected[3]]));
    }

    [TestMethod]
    [DataRow(1, DecoderHarness.Blocked)]        // the least past a graph takes: one slot (the host's scratch slot), blocked
    [DataRow(4, float.NegativeInfinity)]
    public void Export_EmptyPastOrInfiniteMask_LogitsMatchReference(int capacity, float blocked)
    {
        using var tmp = new TempDir();
        var (export, reference) = ExportTiny(tmp, Spec("llama-gqa-llama3-tied"));
        using var runner = new OnnxGraphRunner(export.ModelPath);
        var harness = new DecoderHarness(runner, reference.Config);

        var outputs = harness.Step([Prompt], Positions(1, 0, Prompt.Length), capacity, pastLen: [0], blocked: blocked);

        var actual = Enumerable.Range(0, Prompt.Length).Select(i => DecoderHarness.LogitsAt(outputs[GraphNames.Logits], 0, i)).ToList();
        double error = DecoderHarness.RelativeError(actual, reference.Logits(Prompt));
        Assert.IsLessThan(1e-4, error, $"relative error {error:E2}");
    }

    [TestMethod]
    public void Export_RowsWithNoAdmissibleKey_AttentionContributesExactlyZero()
    {
        using var tmp = new TempDir();
        var (export, reference) = ExportTiny(tmp, Spec("llama-default-untied"));
        using var runner = new OnnxGraphRunner(export.ModelPath);
        var c = reference.Config;
        var random = new Random(3);

        // Every key of every row blocked, over a past full of non-zero values: with the zeroing, a row's
        // logits depend on its own token only; without it, the uniform softmax would average those values.
        float[] Run(long[] ids, long[] positions)
        {
            const int capacity = 4;
            int s = ids.Length;
            var inputs = new Dictionary<string, GraphTensor>
            {
                [GraphNames.InputIds] = GraphTensor.Of(ids, 1, s),
                [GraphNames.PositionIds] = GraphTensor.Of(positions, 1, s),
                [GraphNames.AttentionSpan] = GraphTensor.Of(new long[2 * s], 1, s, 2),   // [0, 0): no slot
                [GraphNames.AttentionNew] = GraphTensor.Of(Enumerable.Repeat(DecoderHarness.Blocked, s * s).ToArray(), 1, 1, s, s),
                [GraphNames.LogitsIndex] = GraphTensor.Of(new long[] { 1 }, 1, 1),
                [GraphNames.KvWriteIndex] = DecoderHarness.WriteIndex(1, c.NumKvHeads, ids.Length, slot: capacity - 1),
            };
            int n = c.NumKvHeads * capacity * c.HeadDim;
            for (int l = 0; l < c.NumLayers; l++)
            {
                inputs[GraphNames.PastKey(l)] = GraphTensor.Of(Enumerable.Range(0, n).Select(_ => random.NextSingle()).ToArray(), 1, c.NumKvHeads, capacity, c.HeadDim);
                inputs[GraphNames.PastValue(l)] = GraphTensor.Of(Enumerable.Range(0, n).Select(_ => random.NextSingle() + 1).ToArray(), 1, c.NumKvHeads, capacity, c.HeadDim);
            }
            return runner.Run(inputs)[GraphNames.Logits].F;
        }

        var a = Run([1, 2, 3], [0, 1, 2]);
        var b = Run([7, 2, 9], [5, 9, 6]);

        Assert.IsTrue(a.All(float.IsFinite));
        for (int i = 0; i < a.Length; i++) Assert.AreEqual(a[i], b[i], 1e-6f);
    }

    [TestMethod]
    public void Export_Fp16_CloseToFp32AndSameArgmax()
    {
        using var tmp = new TempDir();
        var (export, reference) = ExportTiny(tmp, Spec("llama-gqa-llama3-tied"), ExportPrecision.Fp16);
        using var runner = new OnnxGraphRunner(export.ModelPath);
        var harness = new DecoderHarness(runner, reference.Config);

        var outputs = harness.Step([Prompt], Positions(1, 0, Prompt.Length), capacity: 4, pastLen: [0]);

        Assert.AreEqual("float16", export.Manifest.DType);
        Assert.AreEqual(Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float16, runner.ElementType(GraphNames.NewKey(0)));
        Assert.AreEqual(Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float, runner.ElementType(GraphNames.Logits));
        var expected = reference.Logits(Prompt);
        var actual = Enumerable.Range(0, Prompt.Length).Select(i => DecoderHarness.LogitsAt(outputs[GraphNames.Logits], 0, i)).ToList();
        Assert.IsLessThan(2e-2, DecoderHarness.RelativeError(actual, expected));
        int same = Enumerable.Range(0, Prompt.Length).Count(i => DecoderHarness.ArgMax(actual[i]) == DecoderHarness.ArgMax(expected[i]));
        Assert.IsGreaterThanOrEqualTo(Prompt.Length - 1, same);
    }

    [TestMethod]
    public void Export_Checkpoint_WritesManifestAndTokenizerFiles()
    {
        using var tmp = new TempDir();
        TinyCheckpoint.Write(tmp.Sub("ckpt"), Spec("llama-gqa-llama3-tied"));
        File.WriteAllText(Path.Combine(tmp.Sub("ckpt"), "tokenizer.json"), "{}");
        File.WriteAllText(Path.Combine(tmp.Sub("ckpt"), "generation_config.json"), """{"bos_token_id": 1, "eos_token_id": [2, 9]}""");

        var result = CheckpointExporter.Export(tmp.Sub("ckpt"), tmp.Sub("out"), new ExportOptions());

        var m = ModelManifest.Load(result.OutputDir);
        Assert.AreEqual("LlamaForCausalLM", m.Architecture);
        Assert.AreEqual("float32", m.DType);
        CollectionAssert.AreEqual(new[] { 0, 1 }, m.KvLayers.ToArray());
        CollectionAssert.AreEqual(new[] { 0, 1 }, m.LayerKvSource.ToArray());
        Assert.AreEqual("llama3", m.Rope!.Type);
        Assert.AreEqual(500000.0, m.Rope.Theta);
        Assert.AreEqual(1, m.BosTokenId);
        CollectionAssert.AreEqual(new[] { 2, 9 }, m.EosTokenIds.ToArray());
        Assert.IsNull(m.SlidingWindow);
        CollectionAssert.AreEquivalent(new[] { "tokenizer.json", "generation_config.json" }, m.TokenizerFiles.ToArray());
        Assert.IsTrue(File.Exists(Path.Combine(tmp.Sub("out"), "tokenizer.json")));
        Assert.IsTrue(File.Exists(result.DataPath));
        Assert.AreEqual(CheckpointFingerprint.Compute(tmp.Sub("ckpt")), m.CheckpointFingerprint);
        Assert.IsFalse(File.Exists(result.ManifestPath + ".tmp"));
    }

    [TestMethod]
    public void Export_FailureAfterEarlierExport_LeavesNoManifest()
    {
        using var tmp = new TempDir();
        TinyCheckpoint.Write(tmp.Sub("ckpt"), Spec("llama-default-untied"));
        CheckpointExporter.Export(tmp.Sub("ckpt"), tmp.Sub("out"), new ExportOptions());
        TinyCheckpoint.Write(tmp.Sub("bad"), Spec("llama-default-untied") with { HiddenSize = 48 });
        ReplaceHidden(tmp.Sub("bad"), 64);   // config says 64, tensors are 48 wide

        Assert.ThrowsExactly<ExportException>(() => CheckpointExporter.Export(tmp.Sub("bad"), tmp.Sub("out"), new ExportOptions()));

        Assert.IsFalse(File.Exists(Path.Combine(tmp.Sub("out"), ModelManifest.FileName)));
    }

    private static void ReplaceHidden(string dir, int hidden)
    {
        string path = Path.Combine(dir, "config.json");
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))!;
        json["hidden_size"] = hidden;
        File.WriteAllText(path, json.ToJsonString());
    }
}
