using System.Text.Json;

namespace Condensa.Runtime.Tests;

[TestClass]
public sealed class ModelManifestTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void Load_Condensed_ReportsStoredAndStandardBytesPerToken()
    {
        var manifest = TestManifests.Small() with { NumLayers = 4, KvLayers = [0, 3], LayerKvSource = [0, 3, 3, 3] };
        var loaded = ModelManifest.Load(Write(manifest));
        Assert.AreEqual(2L * 2 * 1 * 4 * 4, loaded.KvBytesPerToken);
        Assert.AreEqual(2L * 4 * 1 * 4 * 4, loaded.StandardKvBytesPerToken);
    }

    [TestMethod]
    [DataRow("num_kv_heads", 3)]
    [DataRow("format", 2)]
    [DataRow("max_context", 0)]
    public void Load_InvalidField_NamesField(string field, int value)
    {
        var json = JsonSerializer.SerializeToNode(TestManifests.Small())!.AsObject();
        json[field] = value;
        var dir = Folder();
        File.WriteAllText(Path.Combine(dir, ModelManifest.FileName), json.ToJsonString());
        var e = Assert.ThrowsExactly<CondensaException>(() => ModelManifest.Load(dir));
        StringAssert.Contains(e.Message, $"'{field}'");
    }

    [TestMethod]
    public void Load_UnknownSourceLayer_NamesLayerKvSource()
    {
        var dir = Write(TestManifests.Small() with { LayerKvSource = [0, 5] });
        var e = Assert.ThrowsExactly<CondensaException>(() => ModelManifest.Load(dir));
        StringAssert.Contains(e.Message, "layer_kv_source");
    }

    [TestMethod]
    public void Load_MissingFile_SaysNotAnExport()
    {
        var e = Assert.ThrowsExactly<CondensaException>(() => ModelManifest.Load(Folder()));
        StringAssert.Contains(e.Message, "not a Condensa export");
    }

    private string Write(ModelManifest manifest)
    {
        var dir = Folder();
        File.WriteAllText(Path.Combine(dir, ModelManifest.FileName), JsonSerializer.Serialize(manifest));
        return dir;
    }

    private string Folder()
    {
        var dir = Path.Combine(TestContext.TestRunDirectory ?? Path.GetTempPath(), Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}
