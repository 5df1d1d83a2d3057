using System.Text.Json;

namespace Condensa.Cli.Tests;

/// <summary>--provider, models.json defaults.provider and --ort-library on the commands that load a model (CPU build).</summary>
[TestClass]
public sealed class ProviderOptionTests
{
    private const string MissingCuda = "error: provider 'cuda' is not in the loaded ONNX Runtime build (CPU only); " +
        "install Microsoft.ML.OnnxRuntime.Gpu (build with -p:OrtPackage=Gpu), or pass --ort-library PATH";

    [TestMethod]
    [DataRow("generate", "--prompt", "hi")]
    [DataRow("chat")]
    [DataRow("bench", "--batch", "1")]
    [DataRow("calibrate", "--prompts", "1")]
    [DataRow("extract", "--input", "in.jsonl", "--output", "out.jsonl", "--prompt-template", "t.txt")]
    public async Task Command_ProviderMissingFromBuild_OneLineNamingProviderAndPackage(string command, params string[] rest)
    {
        var checkpoint = CliRunner.Checkpoint();
        var (exit, output, error) = await CliRunner.Run([command, "--model", checkpoint, "--provider", "cuda", .. rest]);
        Assert.AreEqual(1, exit, output + error);
        StringAssert.Contains(error, MissingCuda);
        Assert.AreEqual(1, error.Split('\n').Count(l => l.StartsWith("error:", StringComparison.Ordinal)));
    }

    [TestMethod]
    public async Task Generate_FallbackList_RunsOnCpuWithANote_SameTokens()
    {
        var checkpoint = CliRunner.Checkpoint();
        var plain = await CliRunner.Run("generate", "--model", checkpoint, "--prompt", "abc", "--max-tokens", "8", "--json");
        var fallback = await CliRunner.Run("generate", "--model", checkpoint, "--prompt", "abc", "--max-tokens", "8", "--json",
            "--provider", "webgpu,cuda,cpu", "--device-id", "1");
        Assert.AreEqual(0, fallback.Exit, fallback.Error);
        StringAssert.Contains(fallback.Error, "note: running on provider 'cpu' (provider 'webgpu' is not in the loaded ONNX Runtime build");
        StringAssert.Contains(fallback.Error, "; provider 'cuda' is not in");
        Assert.DoesNotContain("note: running on provider", plain.Error);
        Assert.AreEqual(Tokens(plain.Output), Tokens(fallback.Output));
    }

    [TestMethod]
    public async Task Generate_KvResidenceDevice_SameTokensAsHost()
    {
        var checkpoint = CliRunner.Checkpoint();
        var host = await CliRunner.Run("generate", "--model", checkpoint, "--prompt", "abc", "--max-tokens", "12", "--json", "--kv-residence", "host");
        var device = await CliRunner.Run("generate", "--model", checkpoint, "--prompt", "abc", "--max-tokens", "12", "--json", "--kv-residence", "device");
        Assert.AreEqual(0, device.Exit, device.Error);
        Assert.AreEqual(Tokens(host.Output), Tokens(device.Output));
    }

    [TestMethod]
    public async Task Generate_UnknownProvider_ErrorListsKnownOnes()
    {
        var (exit, _, error) = await CliRunner.Run("generate", "--model", CliRunner.Checkpoint(), "--prompt", "a", "--provider", "tpu");
        Assert.AreEqual(1, exit);
        StringAssert.Contains(error, "error: Unknown execution provider 'tpu' (known: cpu, cuda, dml, webgpu).");
    }

    [TestMethod]
    public async Task Generate_CatalogDefaultProvider_UsedUnlessProviderGiven()
    {
        var checkpoint = CliRunner.Checkpoint();
        var catalog = Path.Combine(Path.GetDirectoryName(checkpoint)!, $"models-{Guid.NewGuid():N}.json");
        File.WriteAllText(catalog, JsonSerializer.Serialize(new
        {
            models = new[] { new { name = "tiny", checkpoint = Path.GetFileName(checkpoint), defaults = new { provider = "cuda" } } },
        }));

        var fromCatalog = await CliRunner.Run("generate", "--model", "tiny", "--catalog", catalog, "--prompt", "a", "--max-tokens", "2");
        Assert.AreEqual(1, fromCatalog.Exit);
        StringAssert.Contains(fromCatalog.Error, MissingCuda);

        var overridden = await CliRunner.Run("generate", "--model", "tiny", "--catalog", catalog, "--prompt", "a", "--max-tokens", "2", "--provider", "cpu");
        Assert.AreEqual(0, overridden.Exit, overridden.Error);
    }

    [TestMethod]
    public async Task Generate_OrtLibraryMissing_ErrorNamesTheFile()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"no-onnxruntime-{Guid.NewGuid():N}.so");
        var (exit, _, error) = await CliRunner.Run("generate", "--model", CliRunner.Checkpoint(), "--prompt", "a", "--ort-library", missing);
        Assert.AreEqual(1, exit);
        StringAssert.Contains(error, $"error: {missing}: ONNX Runtime library not found (--ort-library or CONDENSA_ORT_LIBRARY).");
    }

    private static string Tokens(string json) => JsonDocument.Parse(json).RootElement.GetProperty("tokens").ToString();
}
