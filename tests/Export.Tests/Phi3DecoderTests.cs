using Condensa.Export.Onnx;
using Condensa.TestSupport;

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
            ExplicitHeadDim = 64,   // 48 of 64 dims rotated: tables 24 wide, as GroupQueryAttention needs (a multiple of 8)
        };
        RandomCheckpointWriter.Write(tmp.Sub("ckpt"), shape, seed: 6);

        var manifest = CheckpointExporter.Export(tmp.Sub("ckpt"), tmp.Sub("out"), new ExportOptions()).Manifest;

        Assert.AreEqual(8192, manifest.MaxContext);
        Assert.AreEqual(causal ? 4096 : null, manifest.CausalMaxContext, "the causal graphs stop at the original context");
        Assert.AreEqual(manifestWindow, manifest.SlidingWindow);
        Assert.AreEqual(causal, manifest.CausalGraph is not null);
    }

    // transformers 5's tiny phi3 (longrope over 64 of 256 positions, 8 of 16 frequencies rotated): the general graph's tables
    // hold 64 short rows then 256 long ones (then the padding rows) and one switch, shared by both layers, offsets the
    // positions; the causal graphs share the tables and have no switch. A checkpoint whose context is the original one keeps
    // the graph of before.
    [TestMethod]
    [DataRow(256, 64 + 256 + RopeSettings.PaddingRows, 1)]
    [DataRow(64, 64 + RopeSettings.PaddingRows, 0)]
    public void Export_Longrope_TablesHoldShortThenLongRowsAndOneSwitch(int maxPositions, int rows, int switches)
    {
        using var tmp = new TempDir();
        string checkpoint = tmp.Sub("ckpt");
        Directory.CreateDirectory(checkpoint);
        string golden = Path.Combine(RepositoryPaths.TestData, "golden", "phi3");
        foreach (var file in Directory.GetFiles(golden)) File.Copy(file, Path.Combine(checkpoint, Path.GetFileName(file)));
        var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(golden, "config.json")))!;
        config["max_position_embeddings"] = maxPositions;
        File.WriteAllText(Path.Combine(checkpoint, "config.json"), config.ToJsonString());

        var result = CheckpointExporter.Export(checkpoint, tmp.Sub("out"), new ExportOptions());

        var general = ModelProto.Parser.ParseFrom(File.ReadAllBytes(result.ModelPath)).Graph;
        var cos = general.Initializer.Single(t => t.Name == "rotary_cos_cache");
        CollectionAssert.AreEqual(new long[] { rows, 8 }, cos.Dims.ToArray());
        Assert.AreEqual(switches, general.Node.Count(n => n.OpType == "GreaterOrEqual"));
        Assert.AreEqual(switches, general.Node.Count(n => n.OpType == "ReduceMax" && n.Name.Contains("rotary_long")));
        var rotations = general.Node.Where(n => n.OpType == "RotaryEmbedding").ToList();
        Assert.HasCount(4, rotations, "q and k of two layers");
        Assert.AreEqual(1, rotations.Select(n => n.Input[1]).Distinct().Count(), "one position input shared by every rotation");
        Assert.AreEqual(switches == 0, rotations[0].Input[1] == GraphNames.PositionIds, "position_ids itself, or the switched positions");
        foreach (var file in new[] { CheckpointExporter.CausalModelFileName, CheckpointExporter.CausalRowsModelFileName })
        {
            var causal = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(tmp.Sub("out"), file))).Graph;
            Assert.AreEqual(0, causal.Node.Count(n => n.OpType == "GreaterOrEqual"), file);
            CollectionAssert.AreEqual(new long[] { rows, 8 }, causal.Initializer.Single(t => t.Name == "rotary_cos_cache").Dims.ToArray(), file);
        }
        Assert.AreEqual(maxPositions, result.Manifest.MaxContext);
        Assert.AreEqual(switches == 1 ? 64 : null, result.Manifest.CausalMaxContext);
    }
}
