using Condensa.Export.Onnx;
using Condensa.TestSupport;

namespace Condensa.Export.Tests;

/// <summary>
/// Half-precision exports compute a SiLU MLP's activation in their causal, multi-row causal and slots graphs as ONNX Runtime's
/// SwiGLU over the unsplit gate/up projection (no Split a layer); the general graph keeps the portable form, and the manifest
/// says which kind of export it is, since only the CUDA provider has SwiGLU's kernel.
/// </summary>
[TestClass]
public sealed class SwiGluExportTests
{
    private static readonly string[] AttentionGraphs =
        [CheckpointExporter.CausalModelFileName, CheckpointExporter.CausalRowsModelFileName, CheckpointExporter.SlotsModelFileName];

    [TestMethod]
    [DataRow(ExportPrecision.Fp16, null, true)]
    [DataRow(ExportPrecision.Bf16, null, true)]
    [DataRow(ExportPrecision.Fp32, null, false)]
    [DataRow(ExportPrecision.Fp16, false, false)]
    [DataRow(ExportPrecision.Fp32, true, true)]
    public void Export_SwiGluByPrecisionOrOption_InTheAttentionGraphsAlone(ExportPrecision precision, bool? option, bool expected)
    {
        using var tmp = new TempDir();
        var spec = new TinyModelSpec { NumLayers = 3 };
        TinyCheckpoint.Write(tmp.Sub("ckpt"), spec);

        var result = CheckpointExporter.Export(tmp.Sub("ckpt"), tmp.Sub("out"), new ExportOptions { Precision = precision, SwiGlu = option });

        Assert.AreEqual(expected, result.Manifest.CudaSwiGlu);
        Assert.AreEqual(0, SwiGluNodes(Graph(result.ModelPath)).Count, "the general graph stays portable");
        foreach (var file in AttentionGraphs)
        {
            var graph = Graph(Path.Combine(tmp.Sub("out"), file));
            var swiGlu = SwiGluNodes(graph);
            Assert.HasCount(expected ? spec.NumLayers : 0, swiGlu, file);
            // each takes the gate/up GEMM's output itself: no Split between them, and the down projection reads the product
            foreach (var node in swiGlu)
            {
                Assert.AreEqual("com.microsoft", node.Domain, file);
                var producer = graph.Node.Single(n => n.Output.Contains(node.Input.Single()));
                Assert.AreEqual("MatMul", producer.OpType, file);
                StringAssert.Contains(producer.Name, "gate_up_proj", file);
                var consumer = graph.Node.Single(n => n.Input.Contains(node.Output.Single()));
                StringAssert.Contains(consumer.Name, "down_proj", file);
            }
            int mlpSplits = graph.Node.Count(n => n.OpType == "Split" && n.Name.Contains("gate_up_proj"));
            Assert.AreEqual(expected ? 0 : spec.NumLayers, mlpSplits, file);
        }
    }

    // Gemma's MLP gates with GELU (tanh), which SwiGLU does not compute: its half-precision graphs keep their own activation.
    [TestMethod]
    public void Export_Fp16GeluModel_NoSwiGlu()
    {
        using var tmp = new TempDir();
        string checkpoint = tmp.Sub("ckpt");
        Directory.CreateDirectory(checkpoint);
        foreach (var file in Directory.GetFiles(Path.Combine(RepositoryPaths.TestData, "golden", "gemma3")))
            File.Copy(file, Path.Combine(checkpoint, Path.GetFileName(file)));

        var result = CheckpointExporter.Export(checkpoint, tmp.Sub("out"), new ExportOptions { Precision = ExportPrecision.Fp16 });

        Assert.IsNotNull(result.Manifest.CausalGraph, "the export has a causal graph to check");
        Assert.IsFalse(result.Manifest.CudaSwiGlu);
        var causal = Graph(Path.Combine(tmp.Sub("out"), result.Manifest.CausalGraph));
        Assert.AreEqual(0, SwiGluNodes(causal).Count);
        Assert.IsTrue(causal.Node.Any(n => n.OpType == "FastGelu"), "GELU stays");
    }

    private static GraphProto Graph(string path) => ModelProto.Parser.ParseFrom(File.ReadAllBytes(path)).Graph;

    private static List<NodeProto> SwiGluNodes(GraphProto graph) => [.. graph.Node.Where(n => n.OpType == "SwiGLU")];
}
