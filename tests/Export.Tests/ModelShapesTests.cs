namespace Condensa.Export.Tests;

[TestClass]
public sealed class ModelShapesTests
{
    [TestMethod]
    [DataRow("tinyllama-1.1b", 1_100_048_384L)]    // the published parameter counts of the real models
    [DataRow("llama-3.2-1b", 1_235_814_400L)]
    [DataRow("qwen2-0.5b", 494_032_768L)]
    public void ParameterCount_KnownShape_MatchesRealModel(string name, long parameters) =>
        Assert.AreEqual(parameters, ModelShapes.Get(name).ParameterCount);

    [TestMethod]
    public void Config_Llama32_ParsesWithLlama3RopeAndCappedContext()
    {
        var shape = ModelShapes.Get("llama-3.2-1b");

        var config = HfConfig.Parse(shape.Config("float16").ToJsonString());

        Assert.AreEqual("llama3", config.Rope.Type);
        Assert.AreEqual(500000, config.Rope.Theta);
        Assert.AreEqual(ModelShapes.ContextCap, config.MaxPositionEmbeddings);
        Assert.AreEqual(131072, shape.NativeContext);
        Assert.IsTrue(config.TieWordEmbeddings);
        Assert.AreEqual(64, config.HeadDim);
        Assert.AreEqual(8, config.NumKvHeads);
    }

    [TestMethod]
    public void Config_TinyLlamaMha_EveryQueryHeadItsOwnKvHead()
    {
        var shape = ModelShapes.Get("tinyllama-1.1b-mha");

        var config = HfConfig.Parse(shape.Config("float16").ToJsonString());

        Assert.AreEqual(32, config.NumKvHeads);
        Assert.AreEqual(config.NumHeads, config.NumKvHeads);
        // TinyLlama's parameters and the k and v projections' 28 more KV heads in each of 22 layers
        Assert.AreEqual(ModelShapes.Get("tinyllama-1.1b").ParameterCount + 22 * 2L * 2048 * (28 * 64), shape.ParameterCount);
        // 180 KB of float16 KV a token: 22 layers x key and value x 32 heads x 64
        Assert.AreEqual(180_224, 22 * 2 * config.NumKvHeads * config.HeadDim * 2);
    }

    [TestMethod]
    public void Config_DemoCodeMha_DemoCodesParametersWithFourTimesItsKvPerToken()
    {
        var shape = ModelShapes.Get("demo-code-mha");

        var config = HfConfig.Parse(shape.Config("float16").ToJsonString());

        Assert.AreEqual(16, config.NumKvHeads);
        Assert.AreEqual(config.NumHeads, config.NumKvHeads);
        Assert.AreEqual(64, config.HeadDim, "head_dim is given: 16 heads of 64 over a hidden size of 256");
        Assert.AreEqual(8192, config.MaxPositionEmbeddings);
        // tools/train/common.py's preset: 4 layers x (q, k, v, o of 256 x 1,024, the 256 x 896 MLP, two norms), both 4,096 x 256
        // tables and the final norm; demo-code (docs/demo-models.md) has 9,179,392
        Assert.AreEqual(9_046_272L, shape.ParameterCount);
        // 16 KB of float16 KV a token: 4 layers x key and value x 16 heads x 64, four times demo-code's 8 x 2 x 2 x 64
        Assert.AreEqual(16_384, config.NumLayers * 2 * config.NumKvHeads * config.HeadDim * 2);
    }

    [TestMethod]
    public void Config_TinyLlamaLckv_ParsesAsLayerCondensedWithThreeStoredLayers()
    {
        var shape = ModelShapes.Get("tinyllama-1.1b-lckv");

        var config = HfConfig.Parse(shape.Config("float16").ToJsonString());

        Assert.AreEqual(LckvSettings.Architecture, config.Architecture);
        CollectionAssert.AreEqual(new[] { 0, 20, 21 }, config.Lckv!.Condensation.StoredLayers.ToArray());
        Assert.IsTrue(config.Lckv.ForceNodiag);
        // the standard shape less the k and v projections of the 19 layers that store no KV
        long kv = 2L * 2048 * (4 * 64);
        Assert.AreEqual(ModelShapes.Get("tinyllama-1.1b").ParameterCount - 19 * kv, shape.ParameterCount);
        Assert.IsFalse(shape.Tensors().Any(t => t.Name == "model.layers.1.self_attn.k_proj.weight"));
        Assert.IsTrue(shape.Tensors().Any(t => t.Name == "model.layers.20.self_attn.k_proj.weight"));
    }

    [TestMethod]
    [DataRow("bench-llama", new[] { 0, 1, 2, 3, 4, 5, 6, 7 }, null)]
    [DataRow("bench-lckv", new[] { 0, 6, 7 }, null)]
    [DataRow("bench-lckv-sliding", new[] { 0, 6, 7 }, 1024)]
    public void Config_BenchShape_ParsesWithItsStoredLayersAndWindows(string name, int[] stored, int? window)
    {
        var config = HfConfig.Parse(ModelShapes.Get(name).Config("float16").ToJsonString());

        var layout = config.Lckv?.Condensation.StoredLayers ?? Enumerable.Range(0, config.NumLayers).ToList();
        CollectionAssert.AreEqual(stored, layout.ToArray());
        Assert.AreEqual(512, config.HiddenSize);
        Assert.AreEqual(window, config.Lckv?.Window(0));
        Assert.IsNull(config.Lckv?.Window(6), "layer 6 attends to the whole context");
    }

    [TestMethod]
    public void Export_RandomLckvShape_ExportsWithOnlyTheStoredLayersKv()
    {
        using var tmp = new TempDir();
        var shape = ModelShapes.Get("tiny-random") with { Name = "tiny-lckv", Architecture = LckvSettings.Architecture, NumLayers = 4, LckvLayerTypes = "0_2_2_3" };
        RandomCheckpointWriter.Write(tmp.Sub("ckpt"), shape, seed: 3);

        var result = CheckpointExporter.Export(tmp.Sub("ckpt"), tmp.Sub("out"), new ExportOptions());

        CollectionAssert.AreEqual(new[] { 0, 2, 3 }, result.Manifest.KvLayers.ToArray());
        Assert.AreEqual(CheckpointExporter.CausalModelFileName, result.Manifest.CausalGraph, "decode steps have a causal graph");
        Assert.IsNull(result.Manifest.CausalRowsGraph, "multi-token passes iterate on the general graph");

        // lckv_released_decode's placeholder key: the general graph alone
        var released = tmp.Sub("released");
        RandomCheckpointWriter.Write(released, shape with { Name = "tiny-lckv-released" }, seed: 3);
        var config = Path.Combine(released, "config.json");
        File.WriteAllText(config, File.ReadAllText(config).TrimEnd().TrimEnd('}') + ", \"lckv_released_decode\": true}");
        var result2 = CheckpointExporter.Export(released, tmp.Sub("released-out"), new ExportOptions());
        Assert.IsNull(result2.Manifest.CausalGraph);
        Assert.IsFalse(File.Exists(Path.Combine(tmp.Sub("released-out"), CheckpointExporter.CausalModelFileName)));
    }

    [TestMethod]
    // billions, total and without the embedding table, to two decimals: the model cards say 0.6 (0.44 non-embedding),
    // 3.8 and 1; the second decimals are what these dimensions give
    [DataRow("qwen3-0.6b", 0.60, 0.44)]
    [DataRow("phi-4-mini", 3.84, 3.22)]
    [DataRow("gemma-3-1b", 1.00, 0.70)]
    public void ParameterCount_NewFamilyShape_MatchesModelCard(string name, double billions, double nonEmbedding)
    {
        var shape = ModelShapes.Get(name);
        long embedding = (long)shape.VocabSize * shape.HiddenSize;

        Assert.AreEqual(billions, Math.Round(shape.ParameterCount / 1e9, 2));
        Assert.AreEqual(nonEmbedding, Math.Round((shape.ParameterCount - embedding) / 1e9, 2));
    }

    [TestMethod]
    public void Config_Qwen3_ParsesWithHeadDimAndNoWindow()
    {
        var config = HfConfig.Parse(ModelShapes.Get("qwen3-0.6b").Config("bfloat16").ToJsonString());

        Assert.AreEqual("Qwen3ForCausalLM", config.Architecture);
        Assert.AreEqual(128, config.HeadDim, "head_dim is not hidden / heads (64)");
        Assert.IsNull(config.SlidingWindow);
        Assert.AreEqual(1000000, config.Rope.Theta);
        CollectionAssert.AreEqual(new[] { 151645 }, config.EosTokenIds.ToArray());
    }

    [TestMethod]
    public void Config_Phi4Mini_ParsesWithPartialLongrope()
    {
        var config = HfConfig.Parse(ModelShapes.Get("phi-4-mini").Config("bfloat16").ToJsonString());

        Assert.AreEqual("longrope", config.Rope.Type);
        Assert.AreEqual(96, config.Rope.RotaryDim(config.HeadDim));
        Assert.AreEqual(48, config.Rope.InverseFrequencies(config.HeadDim).Length);
        Assert.AreEqual(8192, config.MaxPositionEmbeddings, "capped");
        Assert.AreEqual(4096, config.Rope.LongRowsOffset(config.MaxPositionEmbeddings));
        Assert.AreEqual(48, config.Rope.InverseFrequencies(config.HeadDim, longFactors: true).Length);
        Assert.AreEqual(Math.Sqrt(1 + Math.Log(2) / Math.Log(4096)), config.Rope.AttentionFactor, 1e-12, "of the capped context");
    }

    [TestMethod]
    public void Config_Gemma3_ParsesWithLayerTypesAndLocalRope()
    {
        var config = HfConfig.Parse(ModelShapes.Get("gemma-3-1b").Config("bfloat16").ToJsonString());

        var full = Enumerable.Range(0, 26).Where(i => config.AttentionKinds![i] == "full_attention").ToArray();
        CollectionAssert.AreEqual(new[] { 5, 11, 17, 23 }, full);
        Assert.AreEqual(512, config.SlidingWindow);
        Assert.AreEqual(1000000, config.Rope.Theta);
        Assert.AreEqual(10000, config.LocalRope!.Theta);
        Assert.AreEqual(1 / 16.0, config.AttentionScale, 1e-12);
        Assert.AreEqual(256, config.HeadDim);
    }

    // Each new family's shape, shrunk, through the real exporter: the tensors the writer names are the ones the
    // architecture reads (a wrong name or shape fails the export), and the manifest carries the family's facts.
    [TestMethod]
    [DataRow("qwen3-0.6b", 32, 2, 8192, true, null)]
    [DataRow("phi-4-mini", 64, 2, 8192, true, null)]    // the capped context; longrope's long factors past 4,096
    // 24 of 32 dims rotated: rotary tables 12 wide, which GroupQueryAttention refuses (a multiple of 8), so no causal graph
    [DataRow("phi-4-mini", 32, 2, 8192, false, null)]
    [DataRow("gemma-3-1b", 32, 6, 8192, true, "512,512,512,512,512,-")]
    public void Export_ShrunkNewFamilyShape_ExportsWithItsFacts(string name, int headDim, int layers, int maxContext, bool causal, string? windows)
    {
        using var tmp = new TempDir();
        var shape = ModelShapes.Get(name) with
        {
            HiddenSize = 64, NumLayers = layers, NumHeads = 4, NumKvHeads = 2, IntermediateSize = 96, VocabSize = 300,
            ExplicitHeadDim = headDim,
        };
        RandomCheckpointWriter.Write(tmp.Sub("ckpt"), shape, seed: 5);

        var result = CheckpointExporter.Export(tmp.Sub("ckpt"), tmp.Sub("out"), new ExportOptions { Precision = ExportPrecision.Int4 });

        Assert.AreEqual(shape.Architecture, result.Manifest.Architecture);
        Assert.AreEqual(maxContext, result.Manifest.MaxContext);
        Assert.AreEqual(causal, result.Manifest.CausalGraph is not null);
        Assert.AreEqual(windows, result.Manifest.LayerSlidingWindow is { } w ? string.Join(",", w.Select(x => x?.ToString() ?? "-")) : null);
    }

    [TestMethod]
    public void Get_UnknownShape_ListsKnownOnes()
    {
        var e = Assert.ThrowsExactly<ArgumentException>(() => ModelShapes.Get("gpt-5"));
        StringAssert.Contains(e.Message, "gpt-5");
        StringAssert.Contains(e.Message, "tinyllama-1.1b");
    }
}

[TestClass]
public sealed class RandomCheckpointWriterTests
{
    private static readonly ModelShape Tiny = ModelShapes.Get("tiny-random");

    [TestMethod]
    public void Write_SameSeed_SameBytesDifferentSeedDifferent()
    {
        using var tmp = new TempDir();

        long size = RandomCheckpointWriter.Write(tmp.Sub("a"), Tiny, seed: 1);
        RandomCheckpointWriter.Write(tmp.Sub("b"), Tiny, seed: 1);
        RandomCheckpointWriter.Write(tmp.Sub("c"), Tiny, seed: 2);

        byte[] a = File.ReadAllBytes(Path.Combine(tmp.Sub("a"), SafeTensorsReader.SingleFileName));
        Assert.AreEqual(size, a.Length);
        CollectionAssert.AreEqual(a, File.ReadAllBytes(Path.Combine(tmp.Sub("b"), SafeTensorsReader.SingleFileName)));
        CollectionAssert.AreNotEqual(a, File.ReadAllBytes(Path.Combine(tmp.Sub("c"), SafeTensorsReader.SingleFileName)));
    }

    [TestMethod]
    public void Write_TinyShape_TensorsHaveShapeAndScale()
    {
        using var tmp = new TempDir();
        RandomCheckpointWriter.Write(tmp.Path, Tiny, seed: 4);

        using var reader = SafeTensorsReader.Open(tmp.Path);
        foreach (var (name, shape, fanIn) in Tiny.Tensors())
        {
            CollectionAssert.AreEqual(shape, reader.Info(name).Shape, name);
            var values = reader.ReadFloat32(name);
            if (fanIn == 0) { Assert.IsTrue(values.All(v => v == 1f), name); continue; }
            double std = Math.Sqrt(values.Average(v => (double)v * v));
            Assert.AreEqual(1 / Math.Sqrt(fanIn), std, 0.1 / Math.Sqrt(fanIn), $"{name}: std {std}");
        }
        var result = CheckpointExporter.Export(tmp.Path, tmp.Sub("out"), new ExportOptions { Precision = ExportPrecision.Int8 });
        Assert.AreEqual(Tiny.NumLayers, result.Manifest.NumLayers);
    }
}
