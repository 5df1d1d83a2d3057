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
    public async Task Export_BadPrecision_NamesValue()
    {
        var (exit, _, error) = await CliRunner.Run("export", "--checkpoint", "x", "--out", "y", "--precision", "int3");
        Assert.AreNotEqual(0, exit);
        StringAssert.Contains(error, "int3");
    }
}
