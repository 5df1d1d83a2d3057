using System.Text.Json;
using Condensa.Export;
using Condensa.Runtime;
using Condensa.TestSupport;

namespace Condensa.Cli.Tests;

/// <summary><c>condensa export --precision int4|int8</c>, <c>--random --shape</c>, and <c>condensa perplexity</c> across precisions.</summary>
[TestClass]
public sealed class QuantizedExportCommandTests
{
    [TestMethod]
    [DataRow("int4", 4, "kv-head")]
    [DataRow("int8", 8, null)]
    public async Task Export_QuantizedPrecision_RuntimeLoadsAndGenerates(string precision, int bits, string? int4Mix)
    {
        var checkpoint = CliRunner.Checkpoint();
        var output = Path.Combine(Directory.CreateTempSubdirectory().FullName, "export");

        var (exit, _, error) = await CliRunner.Run("export", "--checkpoint", checkpoint, "--out", output, "--precision", precision, "--block-size", "16", "--float-activations");

        Assert.AreEqual(0, exit, error);
        var manifest = ModelManifest.Load(output);
        Assert.AreEqual(new ManifestQuantization(bits, 16, 0, true, int4Mix), manifest.WeightQuantization);
        Assert.AreEqual(KvDataType.Float32, ModelManifest.Load(output).KvType);
        var (genExit, text, genError) = await CliRunner.Run("generate", "-m", output, "--prompt", "hello", "--max-tokens", "4");
        Assert.AreEqual(0, genExit, genError);
        Assert.IsFalse(string.IsNullOrEmpty(text));
    }

    [TestMethod]
    public async Task Export_Int4HalfActivations_Float16KvAndTheCausalGraphGenerate()
    {
        var output = Path.Combine(Directory.CreateTempSubdirectory().FullName, "export");

        var (exit, _, error) = await CliRunner.Run("export", "--checkpoint", CliRunner.Checkpoint(), "--out", output, "--precision", "int4", "--half-activations");

        Assert.AreEqual(0, exit, error);
        var manifest = ModelManifest.Load(output);
        Assert.AreEqual(KvDataType.Float16, manifest.KvType);
        Assert.IsNotNull(manifest.CausalGraph);
        var (genExit, text, genError) = await CliRunner.Run("generate", "-m", output, "--prompt", "hello", "--max-tokens", "4");
        Assert.AreEqual(0, genExit, genError);
        Assert.IsFalse(string.IsNullOrEmpty(text));
        var (badExit, _, badError) = await CliRunner.Run("export", "--checkpoint", CliRunner.Checkpoint(), "--out", output + "-fp32", "--half-activations");
        Assert.AreNotEqual(0, badExit);
        StringAssert.Contains(badError, "int4 or int8");
    }

    [TestMethod]
    [DataRow("none")]
    [DataRow("kv")]
    public async Task Export_Int4Mix_RecordedInManifest(string mix)
    {
        var output = Path.Combine(Directory.CreateTempSubdirectory().FullName, "export");

        var (exit, _, error) = await CliRunner.Run("export", "--checkpoint", CliRunner.Checkpoint(), "--out", output, "--precision", "int4", "--int4-mix", mix);

        Assert.AreEqual(0, exit, error);
        Assert.AreEqual(mix, ModelManifest.Load(output).WeightQuantization!.Int4Mix);
    }

    [TestMethod]
    [DataRow("--int4-mix kv needs --precision int4", "--precision", "int8", "--int4-mix", "kv")]
    [DataRow("q4km", "--precision", "int4", "--int4-mix", "q4km")]
    public async Task Export_BadInt4Mix_OneClearError(string expected, params string[] args)
    {
        var (exit, _, error) = await CliRunner.Run(["export", "--checkpoint", CliRunner.Checkpoint(), "--out", Path.Combine(Path.GetTempPath(), "never"), .. args]);

        Assert.AreEqual(1, exit);
        StringAssert.Contains(error, expected);
    }

    [TestMethod]
    [DataRow("unknown model shape 'llama-9b'", "--random", "--shape", "llama-9b")]
    [DataRow("--shape needs --random", "--checkpoint", "x", "--shape", "tiny-random")]
    [DataRow("--random needs --shape", "--random")]
    public async Task Export_BadRandomArguments_OneClearError(string expected, params string[] args)
    {
        var (exit, _, error) = await CliRunner.Run(["export", "--out", Path.Combine(Path.GetTempPath(), "never"), .. args]);

        Assert.AreEqual(1, exit);
        StringAssert.Contains(error, expected);
    }

    [TestMethod]
    public async Task Export_RandomTinyShapeInt4_WritesCheckpointAndBenchRuns()
    {
        var root = Directory.CreateTempSubdirectory().FullName;
        var checkpoint = Path.Combine(root, "ckpt");
        var output = Path.Combine(root, "export");

        var (exit, _, error) = await CliRunner.Run("export", "--random", "--shape", "tiny-random", "--seed", "3", "--checkpoint", checkpoint,
            "--out", output, "--precision", "int4");

        Assert.AreEqual(0, exit, error);
        StringAssert.Contains(error, $"{ModelShapes.Get("tiny-random").ParameterCount:N0} parameters");
        Assert.AreEqual(64, HfConfig.Load(checkpoint).HiddenSize);
        var (benchExit, table, benchError) = await CliRunner.Run("bench", "-m", output, "--batch", "1", "--context", "16", "--runs", "1",
            "--decode-steps", "2", "--prefill-tokens", "8");
        Assert.AreEqual(0, benchExit, benchError);
        StringAssert.Contains(table, "| 1 | 16 |");
    }

    [TestMethod]
    public async Task Perplexity_DemoCodeInt4_WithinFivePercentOfFp32OnHeldOutText()
    {
        // tools/train/train.py is our own training script, not part of demo-code's corpus (the Python standard library).
        string model = Path.Combine(RepositoryPaths.Models, "demo-code");
        string file = Path.Combine(RepositoryPaths.Root, "tools", "train", "train.py");

        double fp32 = await Perplexity(model, file, "fp32");
        double int4 = await Perplexity(model, file, "int4");

        Assert.IsLessThan(fp32 * 1.05, int4, $"int4 {int4:F3} vs fp32 {fp32:F3}");
        Assert.IsGreaterThan(fp32 * 1.001, int4, "int4 weights must cost something (else the test compares fp32 with itself)");
        Assert.IsLessThan(20, fp32, "demo-code predicts Python: a broken scorer would give far higher perplexity");
    }

    [TestMethod]
    public void NegativeLogLikelihood_UniformLogits_IsLogVocab()
    {
        Assert.AreEqual(Math.Log(8), Commands.PerplexityCommand.NegativeLogLikelihood(new float[8], 3), 1e-12);
        Assert.AreEqual(0, Commands.PerplexityCommand.NegativeLogLikelihood([0f, 1000f, 0f], 1), 1e-9);
    }

    private static async Task<double> Perplexity(string model, string file, string precision)
    {
        var (exit, output, error) = await CliRunner.Run("perplexity", "-m", model, "-f", file, "--precision", precision,
            "--window", "512", "--max-tokens", "1024", "--json");
        Assert.AreEqual(0, exit, error);
        using var doc = JsonDocument.Parse(output);
        Assert.AreEqual(1024, doc.RootElement.GetProperty("tokens").GetInt64(), "every token is predicted: windows of BOS + 511");
        Assert.AreEqual(3, doc.RootElement.GetProperty("windows").GetInt32());
        return doc.RootElement.GetProperty("perplexity").GetDouble();
    }
}
