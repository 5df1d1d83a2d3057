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
        Assert.IsNull(result.Manifest.CausalGraph);
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
