using System.Diagnostics;
using System.Text.Json;
using Condensa.TestSupport;

namespace Condensa.Cli.Tests;

/// <summary>
/// The condensa tool package's settings, read by evaluating the project (seconds, no pack); .ci/pack packs, installs and
/// runs the tool.
/// </summary>
[TestClass]
public sealed class ToolPackageTests
{
    [TestMethod]
    public void CliProject_PacksOnePackagePerPlatformPeopleRunOn_WithReadmeAndTags()
    {
        var properties = Evaluate(Path.Combine(RepositoryPaths.Root, "src", "Cli", "Condensa.Cli.csproj"),
            "ToolPackageRuntimeIdentifiers", "PackAsTool", "PackageReadmeFile", "PackageTags", "RepositoryType");

        CollectionAssert.AreEquivalent(new[] { "linux-x64", "linux-arm64", "osx-arm64", "win-x64" },
            properties["ToolPackageRuntimeIdentifiers"].Split(';', StringSplitOptions.RemoveEmptyEntries));
        Assert.AreEqual("true", properties["PackAsTool"]);
        Assert.AreEqual("README.md", properties["PackageReadmeFile"]);
        StringAssert.Contains(properties["PackageTags"], "onnxruntime");
        Assert.AreEqual("git", properties["RepositoryType"]);
    }

    [TestMethod]
    [DataRow("src/Contract/Condensa.Contract.csproj")]
    [DataRow("src/Runtime/Condensa.Runtime.csproj")]
    [DataRow("src/Extensions/Condensa.Extensions.AI.csproj")]
    public void LibraryProject_PacksWithReadmeAndTags(string project)
    {
        var properties = Evaluate(Path.Combine(RepositoryPaths.Root, project), "PackageReadmeFile", "PackageTags", "Description");

        Assert.AreEqual("README.md", properties["PackageReadmeFile"]);
        Assert.IsFalse(string.IsNullOrEmpty(properties["PackageTags"]));
        Assert.IsFalse(string.IsNullOrEmpty(properties["Description"]));
    }

    /// <summary>The evaluated values of <paramref name="names"/> in <paramref name="project"/> (dotnet msbuild -getProperty).</summary>
    private static Dictionary<string, string> Evaluate(string project, params string[] names)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in (string[])["msbuild", project, "-nologo", .. names.Select(n => $"-getProperty:{n}")]) start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.AreEqual(0, process.ExitCode, output + error);
        using var json = JsonDocument.Parse(output);
        return names.ToDictionary(n => n, n => json.RootElement.GetProperty("Properties").GetProperty(n).GetString() ?? "");
    }
}
