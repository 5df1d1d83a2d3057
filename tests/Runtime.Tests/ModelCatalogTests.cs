namespace Condensa.Runtime.Tests;

[TestClass]
public sealed class ModelCatalogTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void Load_ValidCatalog_ResolvesCheckpointsAgainstItsFolder()
    {
        var path = Write("""{ "models": [ { "name": "a", "checkpoint": "ck/a", "draft": "b" }, { "name": "b", "checkpoint": "/abs/b" } ] }""");
        var catalog = ModelCatalog.Load(path);
        Assert.AreEqual(Path.Combine(Path.GetDirectoryName(path)!, "ck", "a"), catalog.Get("a").CheckpointPath);
        Assert.AreEqual("/abs/b", catalog.Get("b").CheckpointPath);
        Assert.AreEqual("b", catalog.Get("a").Draft);
    }

    [TestMethod]
    [DataRow("""{ "models": [ { "name": "a", "checkpoint": "x" }, { "name": "a", "checkpoint": "y" } ] }""", "'a' appears twice")]
    [DataRow("""{ "models": [ { "name": "a", "checkpoint": "x", "draft": "zz" } ] }""", "draft 'zz'")]
    [DataRow("""{ "models": [ { "name": "a" } ] }""", "no 'checkpoint'")]
    [DataRow("""{ "other": 1 }""", "'models' is missing")]
    [DataRow("""{ "models": [ """, "malformed JSON")]
    [DataRow("""{ "models": [ { "name": "a", "checkpoint": "x", "defaults": { "max_tokens": 0 } } ] }""", "model 'a': defaults.max_tokens 0 must be at least 1.")]
    [DataRow("""{ "models": [ { "name": "a", "checkpoint": "x", "defaults": { "temperature": -1 } } ] }""", "model 'a': defaults.temperature -1 must be at least 0.")]
    [DataRow("""{ "models": [ { "name": "a", "checkpoint": "x", "defaults": { "top_p": 1.5 } } ] }""", "model 'a': defaults.top_p 1.5 must be above 0 and at most 1.")]
    public void Load_BadCatalog_NamesTheProblem(string json, string expected)
    {
        var path = Write(json);
        var e = Assert.ThrowsExactly<CondensaException>(() => ModelCatalog.Load(path));
        StringAssert.Contains(e.Message, expected);
        StringAssert.Contains(e.Message, path);
    }

    [TestMethod]
    public void Get_UnknownName_ListsKnownNames()
    {
        var catalog = ModelCatalog.Load(Write("""{ "models": [ { "name": "demo", "checkpoint": "x" } ] }"""));
        var e = Assert.ThrowsExactly<CondensaException>(() => catalog.Get("nope"));
        StringAssert.Contains(e.Message, "'nope'");
        StringAssert.Contains(e.Message, "demo");
    }

    private string Write(string json)
    {
        var dir = Path.Combine(TestContext.TestRunDirectory ?? Path.GetTempPath(), Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, ModelCatalog.FileName);
        File.WriteAllText(path, json);
        return path;
    }
}
