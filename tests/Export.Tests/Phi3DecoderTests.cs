namespace Condensa.Export.Tests;

[TestClass]
public sealed class Phi3DecoderTests
{
    // Phi-4-mini's config sets sliding_window 262144, past its 131,072 positions (8,192 in the capped shape): no window
    // at all, so the export keeps its causal graph; Phi-3-mini-4k's 2,047 of 4,096 is a real window, applied by the host.
    [TestMethod]
    [DataRow(262144, null, true)]
    [DataRow(8192, null, true)]
    [DataRow(4096, 4096, false)]
    [DataRow(1000, 1000, false)]
    public void Export_SlidingWindow_KeptOnlyWithinTheExportedContext(int window, int? manifestWindow, bool causal)
    {
        using var tmp = new TempDir();
        var shape = ModelShapes.Get("phi-4-mini") with
        {
            HiddenSize = 64, NumLayers = 2, NumHeads = 4, NumKvHeads = 2, IntermediateSize = 96, VocabSize = 300, SlidingWindow = window,
        };
        RandomCheckpointWriter.Write(tmp.Sub("ckpt"), shape, seed: 6);

        var manifest = CheckpointExporter.Export(tmp.Sub("ckpt"), tmp.Sub("out"), new ExportOptions()).Manifest;

        Assert.AreEqual(8192, manifest.MaxContext);
        Assert.AreEqual(causal ? 4096 : null, manifest.CausalMaxContext, "the causal graphs stop at the original context");
        Assert.AreEqual(manifestWindow, manifest.SlidingWindow);
        Assert.AreEqual(causal, manifest.CausalGraph is not null);
    }
}
