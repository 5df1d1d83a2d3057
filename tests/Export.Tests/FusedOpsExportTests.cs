using Condensa.Export.Onnx;
using Condensa.TestSupport;

namespace Condensa.Export.Tests;

/// <summary>
/// The decoder graph uses ONNX Runtime's fused kernels where one node can do a pattern's work (every node is a dispatch
/// on a GPU provider): RotaryEmbedding for q and k, SimplifiedLayerNormalization for the first norm and
/// SkipSimplifiedLayerNormalization for every norm that follows a residual add. The logits tests elsewhere check that
/// the fused graph still computes transformers' model; these check the fusion itself and the rotary caches' last row.
/// </summary>
[TestClass]
public sealed class FusedOpsExportTests
{
    private static readonly int[] Prompt = [1, 17, 250, 3, 99, 42, 7, 300, 128, 64, 5, 211];

    [TestMethod]
    public void Export_Llama_RotaryAndNormsAreFusedNodes()
    {
        using var tmp = new TempDir();
        var spec = new TinyModelSpec { NumLayers = 3, Seed = 31 };
        TinyCheckpoint.Write(tmp.Sub("ckpt"), spec);

        var result = CheckpointExporter.Export(tmp.Sub("ckpt"), tmp.Sub("out"), new ExportOptions());

        var graph = ModelProto.Parser.ParseFrom(File.ReadAllBytes(result.ModelPath)).Graph;
        int Count(string op) => graph.Node.Count(n => n.OpType == op);
        Assert.AreEqual(2 * spec.NumLayers, Count("RotaryEmbedding"), "q and k of every layer");
        Assert.AreEqual(1, Count("SimplifiedLayerNormalization"), "layer 0's input norm, the only one with no add before it");
        Assert.AreEqual(2 * spec.NumLayers, Count("SkipSimplifiedLayerNormalization"), "the other norms, each with the residual add before it");
        foreach (var unfused in new[] { "Pow", "Sqrt", "Neg", "Sin", "Cos", "Identity" })
            Assert.AreEqual(0, Count(unfused), unfused);
        Assert.IsTrue(graph.Node.Where(n => n.OpType is "RotaryEmbedding" or "SkipSimplifiedLayerNormalization").All(n => n.Domain == "com.microsoft"));
        var cos = graph.Initializer.Single(i => i.Name == "rotary_cos_cache");
        CollectionAssert.AreEqual(new long[] { spec.MaxPositionEmbeddings + RopeSettings.PaddingRows, spec.HeadDim / 2 }, cos.Dims.ToArray());
    }

    /// <summary>A prompt as long as max_position_embeddings reads every row of the rotary caches, the last included.</summary>
    [TestMethod]
    [DataRow("default")]
    [DataRow("llama3")]
    public void Export_PromptFillingEveryPosition_LogitsMatchReference(string ropeType)
    {
        using var tmp = new TempDir();
        var spec = new TinyModelSpec { RopeType = ropeType, MaxPositionEmbeddings = Prompt.Length, Seed = 33 };
        TinyCheckpoint.Write(tmp.Sub("ckpt"), spec);
        var result = CheckpointExporter.Export(tmp.Sub("ckpt"), tmp.Sub("out"), new ExportOptions());
        var reference = new ReferenceModel(tmp.Sub("ckpt"));
        using var runner = new OnnxGraphRunner(result.ModelPath);

        var outputs = new DecoderHarness(runner, reference.Config)
            .Step([Prompt], [Enumerable.Range(0, Prompt.Length).ToArray()], capacity: 1, pastLen: [0]);

        var actual = Enumerable.Range(0, Prompt.Length).Select(i => DecoderHarness.LogitsAt(outputs[GraphNames.Logits], 0, i)).ToList();
        Assert.IsLessThan(1e-4, DecoderHarness.RelativeError(actual, reference.Logits(Prompt)));
    }
}
