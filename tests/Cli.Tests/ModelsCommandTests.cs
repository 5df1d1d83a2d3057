namespace Condensa.Cli.Tests;

[TestClass]
public sealed class ModelsCommandTests
{
    [TestMethod]
    public async Task Models_Catalog_ListsEveryEntryWithPresence()
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        Directory.CreateDirectory(Path.Combine(dir, "here"));
        var catalog = Path.Combine(dir, "models.json");
        File.WriteAllText(catalog, """{ "models": [ { "name": "a", "checkpoint": "here", "draft": "b" }, { "name": "b", "checkpoint": "gone" } ] }""");
        var (exit, output, error) = await CliRunner.Run("models", "--catalog", catalog);
        Assert.AreEqual(0, exit, error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.HasCount(3, lines);
        StringAssert.Contains(lines[1], "present");
        StringAssert.Contains(lines[2], "missing");
    }
}
