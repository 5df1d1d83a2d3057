using System.Text.Json;
using Condensa.TestSupport;

namespace Condensa.Cli.Tests;

[TestClass]
public sealed class SpeculativeGenerateTests
{
    [TestMethod]
    [DataRow("lookup", "auto")]
    [DataRow("self", "3")]
    [DataRow("draft", "auto")]
    public async Task Generate_SpeculativeGreedy_SameTokensAsPlain(string mode, string gamma)
    {
        var target = CliRunner.Checkpoint();
        var draft = CliRunner.Checkpoint(new TinyModelSpec { Architecture = "llama", NumLayers = 1, Seed = 9 });
        string[] common = ["generate", "--model", target, "--prompt", "abc abc abc ab", "--max-tokens", "24", "--json"];
        var plain = await CliRunner.Run(common);
        var speculative = await CliRunner.Run([.. common, "--speculative", mode, "--gamma", gamma, "--draft", draft, "--sinks", "2", "--window", "8"]);
        Assert.AreEqual(0, speculative.Exit, speculative.Error);
        using var json = JsonDocument.Parse(speculative.Output);
        Assert.AreEqual(JsonDocument.Parse(plain.Output).RootElement.GetProperty("tokens").GetRawText(), json.RootElement.GetProperty("tokens").GetRawText());
        var spec = json.RootElement.GetProperty("speculative");
        Assert.AreEqual(mode, spec.GetProperty("drafter").GetString());
        Assert.IsGreaterThan(0, spec.GetProperty("rounds").GetInt32());
    }

    [TestMethod]
    public async Task Generate_Speculative_StatsLineShowsAcceptance()
    {
        var target = CliRunner.Checkpoint();
        var (exit, output, error) = await CliRunner.Run("generate", "--model", target, "--prompt", "xyxyxyxy", "--max-tokens", "10", "--speculative", "lookup");
        Assert.AreEqual(0, exit, error);
        var last = error.TrimEnd().Split('\n')[^1];
        StringAssert.Contains(last, "acceptance");
        StringAssert.Contains(last, "accepted/round");
        StringAssert.Contains(last, "verify");
    }

    [TestMethod]
    public async Task Generate_DraftWithOtherTokenizer_SaysVocabularyMismatch()
    {
        var target = CliRunner.Checkpoint();
        var draft = CliRunner.Checkpoint(new TinyModelSpec { Architecture = "llama", NumLayers = 1, Seed = 9 });
        // Swap two vocabulary entries: same size, different tokens.
        var tokenizer = Path.Combine(draft, "tokenizer.json");
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(tokenizer))!;
        var vocab = json["model"]!["vocab"]!.AsObject();
        var (a, b) = (vocab.ElementAt(10).Key, vocab.ElementAt(11).Key);
        (vocab[a], vocab[b]) = (vocab[b]!.GetValue<int>(), vocab[a]!.GetValue<int>());
        File.WriteAllText(tokenizer, json.ToJsonString());
        var (exit, _, error) = await CliRunner.Run("generate", "--model", target, "--prompt", "a", "--speculative", "draft", "--draft", draft);
        Assert.AreEqual(1, exit, error);
        StringAssert.Contains(error, "vocabulary mismatch");
    }

    [TestMethod]
    public async Task Generate_BadGamma_NamesValue()
    {
        var target = CliRunner.Checkpoint();
        var (exit, _, error) = await CliRunner.Run("generate", "--model", target, "--prompt", "a", "--speculative", "lookup", "--gamma", "zero");
        Assert.AreEqual(1, exit);
        StringAssert.Contains(error, "'zero'");
    }
}
