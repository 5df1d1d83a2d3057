using System.Text.Json;
using Condensa.Export;
using Condensa.Tokenization;

namespace Condensa.Cli.Tests;

/// <summary><see cref="RandomTokenizer"/>: a random checkpoint gets a tokenizer that covers every id, so generate runs on it.</summary>
[TestClass]
public sealed class RandomTokenizerTests
{
    private static readonly ModelShape Small = new("small-random", "LlamaForCausalLM", HiddenSize: 64, NumLayers: 2, NumHeads: 4, NumKvHeads: 2,
        IntermediateSize: 128, VocabSize: 300, MaxContext: 256, RopeTheta: 10000, TieWordEmbeddings: false);

    [TestMethod]
    public void Write_VocabularyWithRoom_EveryIdDecodesAndTextRoundTrips()
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        RandomCheckpointWriter.Write(dir, Small, seed: 1);

        var tokenizer = TokenizerFactory.FromCheckpoint(dir);
        Assert.AreEqual(Small.VocabSize, tokenizer.VocabSize);
        const string text = "def f(x):\n\treturn x * 2  # ünïcode ✓";
        var ids = tokenizer.Encode(text, addBos: false);
        Assert.AreEqual(System.Text.Encoding.UTF8.GetByteCount(text), ids.Count, "no merges: one token per byte");
        Assert.AreEqual(text, tokenizer.Decode(ids));
        for (var id = 0; id < Small.VocabSize; id++) tokenizer.Decode([id], skipSpecialTokens: false);   // none throws
        StringAssert.Contains(tokenizer.Decode([299]), "<filler_299>");
        Assert.AreEqual(Small.SpecialTokens.Bos, tokenizer.Encode("a")[0], "BOS sits at the config's id");
    }

    [TestMethod]
    public void Write_VocabularyTooSmall_WritesNothing()
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        Assert.IsFalse(RandomTokenizer.Write(dir, Small with { VocabSize = RandomTokenizer.MinimumVocabulary - 1 }));
        Assert.IsFalse(File.Exists(Path.Combine(dir, "tokenizer.json")));
    }

    [TestMethod]
    public async Task Generate_RandomCheckpoint_RunsEndToEnd()
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        RandomCheckpointWriter.Write(dir, Small, seed: 2);
        var (exit, output, error) = await CliRunner.Run("generate", "--model", dir, "--prompt", "hello", "--max-tokens", "8", "--temperature", "0", "--json");
        Assert.AreEqual(0, exit, error);
        using var json = JsonDocument.Parse(output.Trim().Split('\n')[^1]);
        var tokens = json.RootElement.GetProperty("tokens");
        Assert.IsTrue(tokens.GetArrayLength() is > 0 and <= 8, output);
    }
}
