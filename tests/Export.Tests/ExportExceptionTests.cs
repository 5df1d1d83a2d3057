using System.Text.Json.Nodes;
using Condensa.TestSupport;

namespace Condensa.Export.Tests;

/// <summary>Every bad checkpoint gives one <see cref="ExportException"/> whose message names the culprit.</summary>
[TestClass]
public sealed class ExportExceptionTests
{
    private static ExportException ExportFails(TempDir tmp) =>
        Assert.ThrowsExactly<ExportException>(() => CheckpointExporter.Export(tmp.Sub("ckpt"), tmp.Sub("out"), new ExportOptions()));

    [TestMethod]
    public void Export_MissingConfig_NamesConfigJson()
    {
        using var tmp = new TempDir();
        Directory.CreateDirectory(tmp.Sub("ckpt"));

        var e = ExportFails(tmp);

        Assert.Contains("config.json", e.Message);
    }

    [TestMethod]
    public void Export_MissingWeights_NamesWeightFiles()
    {
        using var tmp = new TempDir();
        TinyCheckpoint.Write(tmp.Sub("ckpt"), new TinyModelSpec());
        File.Delete(Path.Combine(tmp.Sub("ckpt"), "model.safetensors"));

        var e = ExportFails(tmp);

        Assert.Contains("model.safetensors", e.Message);
    }

    [TestMethod]
    public void Export_UnsupportedArchitecture_NamesItAndListsSupported()
    {
        using var tmp = new TempDir();
        TinyCheckpoint.Write(tmp.Sub("ckpt"), new TinyModelSpec());
        EditConfig(tmp, c => c["architectures"] = new JsonArray("GPT2LMHeadModel"));

        var e = ExportFails(tmp);

        Assert.Contains("'GPT2LMHeadModel'", e.Message);
        foreach (string supported in CheckpointExporter.SupportedArchitectures) Assert.Contains(supported, e.Message);
    }

    [TestMethod]
    public void Export_MissingTensor_NamesTensor()
    {
        using var tmp = new TempDir();
        TinyCheckpoint.Write(tmp.Sub("ckpt"), new TinyModelSpec());
        RewriteWeights(tmp, t => t.Name != "model.layers.1.mlp.up_proj.weight");

        var e = ExportFails(tmp);

        Assert.Contains("'model.layers.1.mlp.up_proj.weight'", e.Message);
    }

    [TestMethod]
    public void Export_ShapeMismatch_NamesTensorExpectedAndActual()
    {
        using var tmp = new TempDir();
        TinyCheckpoint.Write(tmp.Sub("ckpt"), new TinyModelSpec());
        EditConfig(tmp, c => c["intermediate_size"] = 100);

        var e = ExportFails(tmp);

        Assert.Contains("'model.layers.0.mlp.gate_proj.weight'", e.Message);
        Assert.Contains("[96, 64]", e.Message);
        Assert.Contains("[100, 64]", e.Message);
    }

    [TestMethod]
    public void Export_UnsupportedRopeType_NamesType()
    {
        using var tmp = new TempDir();
        TinyCheckpoint.Write(tmp.Sub("ckpt"), new TinyModelSpec { RopeType = "yarn" });

        var e = ExportFails(tmp);

        Assert.Contains("'yarn'", e.Message);
    }

    [TestMethod]
    public void Export_UnsupportedDtype_NamesTensorAndDtype()
    {
        using var tmp = new TempDir();
        TinyCheckpoint.Write(tmp.Sub("ckpt"), new TinyModelSpec());
        string path = Path.Combine(tmp.Sub("ckpt"), "model.safetensors");
        var header = System.Text.Encoding.UTF8.GetBytes("""{"model.embed_tokens.weight":{"dtype":"F8_E4M3","shape":[320,64],"data_offsets":[0,20480]}}""");
        using (var s = File.Create(path))
        {
            s.Write(BitConverter.GetBytes((long)header.Length));
            s.Write(header);
            s.Write(new byte[20480]);
        }

        var e = ExportFails(tmp);

        Assert.Contains("'model.embed_tokens.weight'", e.Message);
        Assert.Contains("'F8_E4M3'", e.Message);
    }

    private static void EditConfig(TempDir tmp, Action<JsonObject> edit)
    {
        string path = Path.Combine(tmp.Sub("ckpt"), "config.json");
        var config = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(config);
        File.WriteAllText(path, config.ToJsonString());
    }

    private static void RewriteWeights(TempDir tmp, Func<SafeTensorInfo, bool> keep)
    {
        string path = Path.Combine(tmp.Sub("ckpt"), "model.safetensors");
        List<SafeTensor> tensors;
        using (var reader = SafeTensorsReader.Open(tmp.Sub("ckpt")))
            tensors = reader.TensorNames.Select(reader.Info).Where(keep)
                .Select(i => new SafeTensor(i.Name, i.Dtype, i.Shape, reader.ReadFloat32(i.Name))).ToList();
        SafeTensorsWriter.Write(path, tensors);
    }
}
