using Condensa.Export.Onnx;
using Condensa.TestSupport;

namespace Condensa.Export.Tests;

/// <summary>bfloat16 exports: the weights rounded as torch rounds them, the graphs and manifest in bfloat16. (They run on
/// GPU providers only; the device suite runs them.)</summary>
[TestClass]
public sealed class Bf16ExportTests
{
    [TestMethod]
    [DataRow(1.0f, (ushort)0x3F80)]
    [DataRow(1.00390625f, (ushort)0x3F80)]     // halfway, even below: down
    [DataRow(1.01171875f, (ushort)0x3F82)]     // halfway, odd below: up to even
    [DataRow(-2.5f, (ushort)0xC020)]
    public void Encode_Bfloat16_RoundsToNearestEven(float value, ushort bits)
    {
        var bytes = TensorBytes.Encode([value], TensorProto.Types.DataType.Bfloat16);
        Assert.AreEqual(bits, BitConverter.ToUInt16(bytes));
    }

    [TestMethod]
    public void Export_Bf16_WeightsKvAndManifestInBfloat16_LogitsFloat32()
    {
        using var tmp = new TempDir();
        var spec = new TinyModelSpec { Seed = 41 };
        TinyCheckpoint.Write(tmp.Sub("ckpt"), spec);

        var result = CheckpointExporter.Export(tmp.Sub("ckpt"), tmp.Sub("out"), new ExportOptions { Precision = ExportPrecision.Bf16 });

        Assert.AreEqual("bfloat16", result.Manifest.DType);
        Assert.IsNotNull(result.Manifest.CausalGraph);
        foreach (var file in new[] { result.ModelPath, Path.Combine(tmp.Sub("out"), CheckpointExporter.CausalModelFileName) })
        {
            var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(file));
            var bf16 = (int)TensorProto.Types.DataType.Bfloat16;
            Assert.AreEqual(bf16, model.Graph.Input.Single(i => i.Name == GraphNames.PastKey(0)).Type.TensorType.ElemType, file);
            Assert.AreEqual((int)TensorProto.Types.DataType.Float, model.Graph.Output.Single(o => o.Name == GraphNames.Logits).Type.TensorType.ElemType, file);
            Assert.AreEqual(bf16, model.Graph.Initializer.Single(t => t.Name == "model.embed_tokens.weight").DataType, file);
        }
        // the embedding table's bytes are the checkpoint's floats rounded to bfloat16
        using var reader = SafeTensorsReader.Open(tmp.Sub("ckpt"));
        var floats = reader.ReadFloat32("model.embed_tokens.weight");
        var general = ModelProto.Parser.ParseFrom(File.ReadAllBytes(result.ModelPath));
        var embed = general.Graph.Initializer.Single(t => t.Name == "model.embed_tokens.weight");
        var offset = long.Parse(embed.ExternalData.Single(e => e.Key == "offset").Value, System.Globalization.CultureInfo.InvariantCulture);
        using var data = File.OpenRead(result.DataPath);
        data.Position = offset;
        var bytes = new byte[floats.Length * 2];
        data.ReadExactly(bytes);
        CollectionAssert.AreEqual(TensorBytes.Encode(floats, TensorProto.Types.DataType.Bfloat16), bytes);
    }
}
