using System.Text;
using Condensa.TestSupport;

namespace Condensa.Export.Tests;

[TestClass]
public sealed class SafeTensorsReaderTests
{
    private static readonly float[] Values = [1f, -2.5f, 0.1f, 3.14159f, 65504f, -0.0001f];

    [TestMethod]
    [DataRow(SafeTensorDtype.F32, 0.0)]
    [DataRow(SafeTensorDtype.F16, 1e-3)]
    [DataRow(SafeTensorDtype.BF16, 8e-3)]
    public void ReadFloat32_EachDtype_DecodesValues(SafeTensorDtype dtype, double relTolerance)
    {
        using var tmp = new TempDir();
        SafeTensorsWriter.Write(Path.Combine(tmp.Path, "model.safetensors"), [new SafeTensor("w", dtype, [2, 3], Values)]);

        using var reader = SafeTensorsReader.Open(tmp.Path);
        var read = reader.ReadFloat32("w");

        CollectionAssert.AreEqual(new long[] { 2, 3 }, reader.Info("w").Shape);
        Assert.AreEqual(dtype, reader.Info("w").Dtype);
        for (int i = 0; i < Values.Length; i++)
            Assert.AreEqual(Values[i], read[i], Math.Abs(Values[i]) * relTolerance);
    }

    [TestMethod]
    public void Open_ShardedIndex_ReadsTensorsFromEveryShard()
    {
        using var tmp = new TempDir();
        TinyCheckpoint.Write(tmp.Path, new TinyModelSpec { Shards = 3 });

        using var reader = SafeTensorsReader.Open(tmp.Path);

        Assert.AreEqual(3, SafeTensorsReader.WeightFiles(tmp.Path).Count);
        Assert.AreEqual(1 + 2 * 9 + 1 + 1, reader.TensorNames.Count);
        Assert.AreEqual(320 * 64, reader.ReadFloat32("model.embed_tokens.weight").Length);
        Assert.AreEqual(96 * 64, reader.ReadFloat32("model.layers.1.mlp.down_proj.weight").Length);
    }

    [TestMethod]
    public void Open_NoWeights_ThrowsNamingBothFiles()
    {
        using var tmp = new TempDir();

        var e = Assert.ThrowsExactly<ExportException>(() => SafeTensorsReader.Open(tmp.Path));

        Assert.Contains("model.safetensors", e.Message);
        Assert.Contains("model.safetensors.index.json", e.Message);
    }

    [TestMethod]
    public void Open_IndexNamesMissingShard_ThrowsNamingShard()
    {
        using var tmp = new TempDir();
        File.WriteAllText(Path.Combine(tmp.Path, "model.safetensors.index.json"), """{"weight_map": {"w": "model-00001-of-00002.safetensors"}}""");

        var e = Assert.ThrowsExactly<ExportException>(() => SafeTensorsReader.Open(tmp.Path));

        Assert.Contains("model-00001-of-00002.safetensors", e.Message);
    }

    [TestMethod]
    public void Open_UnsupportedDtype_ThrowsNamingTensorAndDtype()
    {
        using var tmp = new TempDir();
        WriteRaw(Path.Combine(tmp.Path, "model.safetensors"), """{"q":{"dtype":"I8","shape":[4],"data_offsets":[0,4]}}""", 4);

        var e = Assert.ThrowsExactly<ExportException>(() => SafeTensorsReader.Open(tmp.Path));

        Assert.Contains("'q'", e.Message);
        Assert.Contains("'I8'", e.Message);
    }

    [TestMethod]
    public void ReadFloat32_UnknownName_ThrowsNamingTensor()
    {
        using var tmp = new TempDir();
        SafeTensorsWriter.Write(Path.Combine(tmp.Path, "model.safetensors"), [new SafeTensor("w", SafeTensorDtype.F32, [1], [1f])]);
        using var reader = SafeTensorsReader.Open(tmp.Path);

        var e = Assert.ThrowsExactly<ExportException>(() => reader.ReadFloat32("lm_head.weight"));

        Assert.Contains("'lm_head.weight'", e.Message);
    }

    private static void WriteRaw(string path, string header, int dataBytes)
    {
        var json = Encoding.UTF8.GetBytes(header);
        using var s = File.Create(path);
        s.Write(BitConverter.GetBytes((long)json.Length));
        s.Write(json);
        s.Write(new byte[dataBytes]);
    }
}
