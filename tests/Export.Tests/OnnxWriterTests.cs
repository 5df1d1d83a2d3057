using Condensa.Export.Onnx;
using Condensa.TestSupport;

namespace Condensa.Export.Tests;

[TestClass]
public sealed class OnnxWriterTests
{
    [TestMethod]
    public void Write_ExportedModel_ParsesBackWithContractInputsAndOutputs()
    {
        using var tmp = new TempDir();
        TinyCheckpoint.Write(tmp.Sub("ckpt"), new TinyModelSpec());
        var result = CheckpointExporter.Export(tmp.Sub("ckpt"), tmp.Sub("out"), new ExportOptions());

        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(result.ModelPath));

        Assert.AreEqual(OnnxWriter.IrVersion, model.IrVersion);
        Assert.AreEqual(OnnxWriter.OpsetVersion, model.OpsetImport.Single(o => o.Domain == "").Version);
        CollectionAssert.AreEqual(
            new[] { "input_ids", "position_ids", "attention_span", "attention_new", "logits_index", "kv_write_index", "past.0.key", "past.0.value", "past.1.key", "past.1.value" },
            model.Graph.Input.Select(i => i.Name).ToArray());
        CollectionAssert.AreEqual(
            new[] { "logits", "greedy_tokens", "new.0.key", "new.0.value", "present.0.key", "present.0.value", "new.1.key", "new.1.value", "present.1.key", "present.1.value" },
            model.Graph.Output.Select(o => o.Name).ToArray());
        Assert.AreEqual("B,S,2", Dims(model.Graph.Input[2]));
        Assert.AreEqual("B,1,S,S", Dims(model.Graph.Input[3]));
        Assert.AreEqual("B,2,S,3", Dims(model.Graph.Input[5]));
        Assert.AreEqual("B,2,C,16", Dims(model.Graph.Input[6]));
        Assert.AreEqual("B,2,C,16", Dims(model.Graph.Output[4]));
        Assert.AreEqual("B,K,320", Dims(model.Graph.Output[0]));
        Assert.AreEqual("B,K", Dims(model.Graph.Output[1]));
        Assert.AreEqual("B,2,S,16", Dims(model.Graph.Output[2]));
        Assert.AreEqual((int)TensorProto.Types.DataType.Float, model.Graph.Output[0].Type.TensorType.ElemType);
        Assert.AreEqual((int)TensorProto.Types.DataType.Int64, model.Graph.Output[1].Type.TensorType.ElemType);
        Assert.IsTrue(model.Graph.Node.Any(n => n.Name == "/model/layers.0/attn/qkv_proj/MatMul"));
    }

    [TestMethod]
    public void Write_LargeAndSmallTensors_LargeGoExternalAlignedSmallInline()
    {
        using var tmp = new TempDir();
        var b = new GraphBuilder();
        b.Input("x", TensorProto.Types.DataType.Float, 1, 512);
        b.AddInitializer("big", TensorProto.Types.DataType.Float, [512], s => s.Write(new byte[2048]));
        b.AddInitializer("big2", TensorProto.Types.DataType.Float, [300], s => s.Write(new byte[1200]));
        string small = b.ConstInt64([1, 2]);
        b.NamedNode("Add", ["x", "big"], "Add", "y");
        b.Output("y", TensorProto.Types.DataType.Float, 1, 512);

        var model = OnnxWriter.Write(b, Path.Combine(tmp.Path, "m.onnx"), "m.onnx.data", "g");

        var big2 = model.Graph.Initializer.Single(t => t.Name == "big2");
        Assert.AreEqual(TensorProto.Types.DataLocation.External, big2.DataLocation);
        Assert.AreEqual("m.onnx.data", big2.ExternalData.Single(e => e.Key == "location").Value);
        Assert.AreEqual("4096", big2.ExternalData.Single(e => e.Key == "offset").Value);
        Assert.AreEqual("1200", big2.ExternalData.Single(e => e.Key == "length").Value);
        var inline = model.Graph.Initializer.Single(t => t.Name == small);
        Assert.AreEqual(16, inline.RawData.Length);
        Assert.AreEqual(4096 + 1200, new FileInfo(Path.Combine(tmp.Path, "m.onnx.data")).Length);
    }

    private static string Dims(ValueInfoProto v) =>
        string.Join(",", v.Type.TensorType.Shape.Dim.Select(d => d.HasDimParam ? d.DimParam : d.DimValue.ToString(System.Globalization.CultureInfo.InvariantCulture)));
}
