using Condensa.Export.Onnx;
using Condensa.TestSupport;

namespace Condensa.Export.Tests;

/// <summary>
/// <see cref="Attention.BiasFromSpans"/> run alone: the bias the general and slots graphs build from the host's compact mask
/// equals the one the host used to send (TestSupport's <see cref="DenseMask"/>), for spans that start past slot 0 (a
/// sliding window), end at the capacity, or hold nothing (padding).
/// </summary>
[TestClass]
public sealed class AttentionBiasGraphTests
{
    [TestMethod]
    public void BiasFromSpans_EqualsTheDenseMaskTheHostSent()
    {
        const int batch = 2, seqLen = 3, capacity = 6;
        long[] spans =
        [
            0, 4, 2, 5, 3, 6,   // row 0: slots 0-3; a window's 2-4; 3 up to the capacity
            0, 0, 0, 1, 0, 0,   // row 1: nothing; slot 0; padding
        ];
        var fresh = new float[batch * seqLen * seqLen];
        for (var i = 0; i < fresh.Length; i++) fresh[i] = i % 3 == 0 ? 0f : GraphNames.MaskValue;

        using var tmp = new TempDir();
        var b = new GraphBuilder();
        string spanInput = b.Input(GraphNames.AttentionSpan, TensorProto.Types.DataType.Int64, "B", "S", 2);
        string newInput = b.Input(GraphNames.AttentionNew, TensorProto.Types.DataType.Float, "B", 1, "S", "S");
        string past = b.Input("past.0.key", TensorProto.Types.DataType.Float, "B", 1, "C", 4);
        b.NamedNode("Identity", [Attention.BiasFromSpans(b, spanInput, newInput, past)], "bias/Identity", "bias");
        b.Output("bias", TensorProto.Types.DataType.Float, "B", 1, "S", "T");
        string path = Path.Combine(tmp.Path, "bias.onnx");
        OnnxWriter.Write(b, path, "bias.onnx.data", "bias");
        using var runner = new OnnxGraphRunner(path);

        var bias = runner.Run(new Dictionary<string, GraphTensor>
        {
            [GraphNames.AttentionSpan] = GraphTensor.Of(spans, batch, seqLen, 2),
            [GraphNames.AttentionNew] = GraphTensor.Of(fresh, batch, 1, seqLen, seqLen),
            ["past.0.key"] = GraphTensor.Of(new float[batch * capacity * 4], batch, 1, capacity, 4),
        })["bias"];

        CollectionAssert.AreEqual(new long[] { batch, 1, seqLen, capacity + seqLen }, bias.Shape);
        CollectionAssert.AreEqual(DenseMask.Expand(spans, fresh, batch, seqLen, capacity), bias.F);
    }
}
