using Condensa.Runtime;

namespace Condensa.Cli.Tests;

[TestClass]
public sealed class ExportCommandTests
{
    [TestMethod]
    public async Task Export_TinyCheckpoint_ManifestLoadsInRuntimeWithSameFacts()
    {
        var checkpoint = CliRunner.Checkpoint();
        var output = Path.Combine(Directory.CreateTempSubdirectory().FullName, "export");
        var (exit, _, error) = await CliRunner.Run("export", "--checkpoint", checkpoint, "--out", output, "--precision", "fp16");
        Assert.AreEqual(0, exit, error);

        // The exporter writes condensa.json with its own types; the runtime must read the same facts.
        var manifest = ModelManifest.Load(output);
        Assert.AreEqual("LlamaForCausalLM", manifest.Architecture);
        Assert.AreEqual(KvDataType.Float16, manifest.KvType);
        CollectionAssert.AreEqual(new[] { 0, 1 }, manifest.KvLayers);
        Assert.AreEqual(CliRunner.TokenizerVocab, manifest.VocabSize);
        CollectionAssert.Contains(manifest.EosTokenIds, 2);
        Assert.IsTrue(File.Exists(Path.Combine(output, "tokenizer.json")), "tokenizer files are copied beside the graph");
        using var model = DecoderModel.Load(output);
        Assert.AreEqual(manifest.NumKvHeads, model.Manifest.NumKvHeads);
    }

    [TestMethod]
    [DataRow(new string[0], true)]
    [DataRow(new[] { "--swiglu", "off" }, false)]
    public async Task Export_Fp16_SwiGluByDefaultOrOff(string[] extra, bool swiGlu)
    {
        var checkpoint = CliRunner.Checkpoint();
        var output = Path.Combine(Directory.CreateTempSubdirectory().FullName, "export");
        var (exit, _, error) = await CliRunner.Run(["export", "--checkpoint", checkpoint, "--out", output, "--precision", "fp16", .. extra]);

        Assert.AreEqual(0, exit, error);
        Assert.AreEqual(swiGlu, ModelManifest.Load(output).CudaSwiGlu);
    }

    [TestMethod]
    public async Task Export_ReportsProgressOnStderr_NothingOnStdout()
    {
        var checkpoint = CliRunner.Checkpoint();
        var output = Path.Combine(Directory.CreateTempSubdirectory().FullName, "export");
        var (exit, stdout, error) = await CliRunner.Run("export", "--checkpoint", checkpoint, "--out", output);

        Assert.AreEqual(0, exit, error);
        Assert.AreEqual("", stdout);
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        CollectionAssert.AreEqual(new[] { "1/3 ", "2/3 ", "3/3 ", "done" }, lines[..4].Select(l => l[..4]).ToArray(), error);
        StringAssert.StartsWith(lines[^1], "exported LlamaForCausalLM (fp32) to ");
    }

    [TestMethod]
    public async Task Generate_FirstUseExport_ReportsProgressOnStderr()
    {
        var checkpoint = CliRunner.Checkpoint();
        var (exit, _, error) = await CliRunner.Run("generate", "--model", checkpoint, "--prompt", "a", "--max-tokens", "1");

        Assert.AreEqual(0, exit, error);
        StringAssert.Contains(error, "exporting ");
        StringAssert.Contains(error, "  1/3 building the LlamaForCausalLM graph: 2 layers");
        StringAssert.Contains(error, "  done (");
    }

    [TestMethod]
    public async Task Export_BadPrecision_NamesValue()
    {
        var (exit, _, error) = await CliRunner.Run("export", "--checkpoint", "x", "--out", "y", "--precision", "int3");
        Assert.AreNotEqual(0, exit);
        StringAssert.Contains(error, "int3");
    }
}
