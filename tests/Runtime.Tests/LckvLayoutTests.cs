using Condensa.Export;
using Condensa.TestSupport;

namespace Condensa.Runtime.Tests;

/// <summary>DESIGN.md §6.6: the stored-layer set and KV bytes/token of LCKV, CLA and sliding configs, as exported,
/// as the runtime reads them, and as the cache allocates them.</summary>
[TestClass]
public sealed class LckvLayoutTests
{
    private static string W2(int layers) => string.Join("_", [0, .. Enumerable.Repeat(layers - 2, layers - 2), layers - 1]);

    [TestMethod]
    [DataRow("w2", "0_20_20_20_20_20_20_20_20_20_20_20_20_20_20_20_20_20_20_20_20_21", new[] { 0, 20, 21 }, new[] { 20 })]
    [DataRow("w10", "0_1_2_3_4_16_16_16_16_16_16_16_16_16_16_16_16_17_18_19_20_21", new[] { 0, 1, 2, 3, 4, 16, 17, 18, 19, 20, 21 }, new[] { 16 })]
    [DataRow("cla", "0_0_2_2_4_4_6_6", new[] { 0, 2, 4, 6 }, new int[0])]
    [DataRow("sliding", "0s_5_5s_5_5s_5_6s", new[] { 0, 5, 6 }, new[] { 5 })]
    public void Export_Config_StoredLayersAndBytesPerToken(string name, string layerTypes, int[] stored, int[] pending)
    {
        var layers = layerTypes.Split('_').Length;
        var spec = new TinyModelSpec
        {
            Architecture = "lckv", LayerTypes = layerTypes, NumLayers = layers, HiddenSize = 32, IntermediateSize = 32,
            NumHeads = 2, NumKvHeads = 1, HeadDim = 16, LckvSlidingWindow = 5, Seed = 40,
        };
        var (_, export) = TinyExports.Get("lckv-layout-" + name, spec);
        var manifest = ModelManifest.Load(export);

        CollectionAssert.AreEqual(stored, manifest.KvLayers);
        CollectionAssert.AreEqual(pending, manifest.Condensation.PendingLayers.ToArray());
        Assert.AreEqual(2L * stored.Length * 1 * 16 * 4, manifest.KvBytesPerToken);       // 2 x stored x Hkv x D x fp32
        Assert.AreEqual(2L * layers * 1 * 16 * 4, manifest.StandardKvBytesPerToken);
        Assert.AreEqual(2L * layers * 1 * 16 * 4, manifest.KvBytesReadPerToken, "every layer reads its source's KV");
        using var model = DecoderModel.Load(export);
        using var cache = model.CreateCache(2, new KvCacheOptions { InitialCapacity = 8, GrowthChunk = 8 });
        Assert.AreEqual(stored.Length, cache.StoredLayers);
        Assert.AreEqual(2L * 8 * manifest.KvBytesPerToken, cache.AllocatedBytes);
        // one decode step runs on the condensed buffers
        Assert.AreEqual(spec.VocabSize, model.Forward(cache, [5, 6], [1, 1], LogitsSelection.LastPerRow).Length / 2);
    }

    [TestMethod]
    public void Export_W2OnTwentyTwoLayers_ThreeStoredLayersAsInThePaper()
    {
        // Paper: TinyLlama 1.1B (22 layers, 4 KV heads of 64, bf16) 22 KB/token; w2 3 layers.
        Assert.AreEqual("0_20_20_20_20_20_20_20_20_20_20_20_20_20_20_20_20_20_20_20_20_21", W2(22));
        var manifest = new ModelManifest
        {
            Format = 1, DType = "float16", VocabSize = 32000, HiddenSize = 2048, NumLayers = 22, NumHeads = 32, NumKvHeads = 4,
            HeadDim = 64, MaxContext = 2048, KvLayers = [0, 20, 21], LayerKvSource = [.. W2(22).Split('_').Select(int.Parse)],
        };
        Assert.AreEqual(2L * 3 * 4 * 64 * 2, manifest.KvBytesPerToken);            // 3 KB/token
        Assert.AreEqual(2L * 22 * 4 * 64 * 2, manifest.StandardKvBytesPerToken);   // 22 KB/token
    }

    [TestMethod]
    public void Export_LckvFields_RuntimeReadsWhatConfigSays()
    {
        var spec = new TinyModelSpec
        {
            Architecture = "lckv", LayerTypes = "0_3s_3_3", NumLayers = 4, ForwardPasses = 5, BackwardPasses = 2,
            ForceNodiag = false, LckvSlidingWindow = 7, Seed = 41,
        };
        var (_, export) = TinyExports.Get("lckv-fields", spec);
        var read = ModelManifest.Load(export);
        CollectionAssert.AreEqual(new[] { 0, 3 }, read.KvLayers);
        CollectionAssert.AreEqual(new[] { 0, 3, 3, 3 }, read.LayerKvSource);
        Assert.AreEqual(5, read.ForwardPasses);
        Assert.AreEqual(2, read.BackwardPasses);
        Assert.IsFalse(read.ForceNodiag);
        CollectionAssert.AreEqual(new int?[] { null, 7, null, null }, read.LayerSlidingWindow);
        Assert.AreEqual(7, read.Condensation.IterativePasses);
        Assert.IsNull(read.SlidingWindow, "per-layer windows live in the graph, not in the host's mask");
    }

    [TestMethod]
    public void Load_LayerSlidingWindowOfWrongLength_NamesField()
    {
        var dir = Directory.CreateTempSubdirectory("condensa-manifest-").FullName;
        var manifest = TestManifests.Small() with { LayerSlidingWindow = [4] };
        File.WriteAllText(Path.Combine(dir, ModelManifest.FileName), System.Text.Json.JsonSerializer.Serialize(manifest));
        var e = Assert.ThrowsExactly<CondensaException>(() => ModelManifest.Load(dir));
        StringAssert.Contains(e.Message, "layer_sliding_window");
    }

    [TestMethod]
    public void Export_MalformedLayerTypes_ErrorNamesConfigAndEntry()
    {
        var dir = Directory.CreateTempSubdirectory("condensa-lckv-bad-").FullName;
        TinyCheckpoint.Write(dir, new TinyModelSpec { Architecture = "lckv", LayerTypes = "0_2x_2", NumLayers = 3 });
        var e = Assert.ThrowsExactly<ExportException>(() => CheckpointExporter.Export(dir, Path.Combine(dir, "out"), new ExportOptions()));
        StringAssert.Contains(e.Message, Path.Combine(dir, "config.json"));
        StringAssert.Contains(e.Message, "entry 1 '2x'");
    }
}
