namespace Condensa.Cli.Tests;

[TestClass]
public sealed class CommandErrorsTests
{
    [TestMethod]
    public void OneLine_ArgumentOutOfRange_DropsTheParameterNameAndJoinsTheValue()
    {
        var e = new ArgumentOutOfRangeException("TopP", 2f, "top-p must be in (0, 1]");

        Assert.AreEqual("top-p must be in (0, 1], got 2", CommandErrors.OneLine(e));
    }

    [TestMethod]
    public void OneLine_ArgumentWithParameterName_DropsIt()
    {
        Assert.AreEqual("prompt is empty", CommandErrors.OneLine(new ArgumentException("prompt is empty", "prompt")));
    }

    [TestMethod]
    public void OneLine_MultiLineMessage_JoinsTheLines()
    {
        Assert.AreEqual("first second", CommandErrors.OneLine(new IOException("first\nsecond")));
    }

    [TestMethod]
    public async Task Generate_CatalogDefaultOutOfRange_OneLineNamingModelsJsonAndField()
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        var catalog = Path.Combine(dir, "models.json");
        File.WriteAllText(catalog, """{ "models": [ { "name": "tiny", "checkpoint": "tiny", "defaults": { "temperature": -1 } } ] }""");

        var (exit, _, error) = await CliRunner.Run("generate", "--model", "tiny", "--catalog", catalog, "--prompt", "a");

        Assert.AreEqual(1, exit);
        Assert.AreEqual($"error: {catalog}: model 'tiny': defaults.temperature -1 must be at least 0.", error.Trim());
    }
}
