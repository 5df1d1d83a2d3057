using System.Text.Json.Nodes;
using Condensa.TestSupport;
using Condensa.Tokenization;

namespace Condensa.Cli.Tests;

/// <summary>
/// Tiny random Llama checkpoints over SentencePiece tokenizers with normalizer specs (nmt_nfkc BPE and Unigram, identity
/// with whitespace collapsing), made on the GPU machine by tools/tokenizers/make_sp_e2e_golden.py: for each prompt text,
/// <c>condensa generate</c> must encode it as sentencepiece does and continue it as transformers did from those ids.
/// </summary>
[TestClass]
public sealed class SentencePieceEndToEndTests
{
    private static string Fixtures => Path.Combine(RepositoryPaths.TestData, "golden", "sp_e2e");

    public static IEnumerable<object[]> Cases => Directory.GetDirectories(Fixtures).Select(Path.GetFileName).Order().Select(n => new object[] { n! });

    [TestMethod]
    [DynamicData(nameof(Cases))]
    public async Task Generate_SentencePieceCheckpoint_IdsAndGreedyContinuationEqualTransformers(string name)
    {
        // the checkpoint as transformers saved it, with the case's tokenizer.model rebuilt beside it
        var checkpoint = Directory.CreateTempSubdirectory($"condensa-sp-e2e-{name}-").FullName;
        foreach (var file in new[] { "config.json", "generation_config.json", "model.safetensors" })
            File.Copy(Path.Combine(Fixtures, name, file), Path.Combine(checkpoint, file));
        File.WriteAllBytes(Path.Combine(checkpoint, "tokenizer.model"), SentencePieceTestModels.ModelBytes(name));
        var golden = JsonNode.Parse(File.ReadAllText(Path.Combine(Fixtures, name, "e2e.json")))!;
        var tokenizer = TokenizerFactory.FromCheckpoint(checkpoint);
        var rows = golden["rows"]!.AsArray();
        Assert.IsGreaterThan(2, rows.Count);

        foreach (var row in rows)
        {
            var text = (string)row!["text"]!;
            int[] promptIds = [.. row["prompt_ids"]!.AsArray().Select(x => (int)x!)];
            int[] continuation = [.. row["continuation"]!.AsArray().Select(x => (int)x!)];
            CollectionAssert.AreEqual(promptIds, tokenizer.Encode(text, addBos: true).ToArray(), $"{name}: ids of {JsonValue.Create(text)}");

            var (exit, output, error) = await CliRunner.Run("generate", "--model", checkpoint, "--prompt", text, "--max-tokens",
                ((int)golden["new_tokens"]!).ToString(), "--temperature", "0", "--json");

            Assert.AreEqual(0, exit, error);
            int[] tokens = [.. JsonNode.Parse(output)!["tokens"]!.AsArray().Select(x => (int)x!)];
            CollectionAssert.AreEqual(continuation, tokens, $"{name}: continuation of {JsonValue.Create(text)}");
        }
    }
}
