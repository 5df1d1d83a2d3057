using System.Text.Json;

namespace Condensa.Cli.Tests;

[TestClass]
public sealed class SpeculativeGenerateTests
{
    [TestMethod]
    [DataRow("lookup", "auto", "auto")]
    [DataRow("self", "3", "auto")]
    [DataRow("draft", "auto", "auto")]
    // the causal graph for the batch-1 passes (prefill, verification chains, the draft model's steps), against plain
    // decoding on the general graph; self-speculation then seeds its budget from the target cache's own entries
    [DataRow("self", "3", "on")]
    [DataRow("draft", "auto", "on")]
    public async Task Generate_SpeculativeGreedy_SameTokensAsPlain(string mode, string gamma, string fusedAttention)
    {
        var target = CliRunner.Checkpoint();
        var draft = CliRunner.DraftCheckpoint();
        string[] common = ["generate", "--model", target, "--prompt", "abc abc abc ab", "--max-tokens", "24", "--json"];
        var plain = await CliRunner.Run([.. common, "--fused-attention", "off"]);
        var speculative = await CliRunner.Run([.. common, "--speculative", mode, "--gamma", gamma, "--draft", draft, "--sinks", "2", "--window", "8",
            "--fused-attention", fusedAttention]);
        Assert.AreEqual(0, speculative.Exit, speculative.Error);
        using var json = JsonDocument.Parse(speculative.Output);
        Assert.AreEqual(JsonDocument.Parse(plain.Output).RootElement.GetProperty("tokens").GetRawText(), json.RootElement.GetProperty("tokens").GetRawText());
        var spec = json.RootElement.GetProperty("speculative");
        Assert.AreEqual(mode, spec.GetProperty("drafter").GetString());
        Assert.IsGreaterThan(0, spec.GetProperty("rounds").GetInt32());
    }

    [TestMethod]
    [DataRow("self")]    // the target's checkpoint exported at fp16 drafts over the budget
    [DataRow("draft")]   // the draft model's checkpoint exported at fp16
    public async Task Generate_DraftedByAnFp16Export_SameTokensAsPlain(string mode)
    {
        var target = CliRunner.Checkpoint();
        string[] drafter = mode == "self"
            ? ["--window", "64"]
            : ["--draft", CliRunner.DraftCheckpoint()];
        string[] common = ["generate", "--model", target, "--prompt", "abc abc abc ab", "--max-tokens", "24", "--json"];
        var plain = await CliRunner.Run(common);
        var speculative = await CliRunner.Run([.. common, "--speculative", mode, "--gamma", "3", "--draft-precision", "fp16", .. drafter]);
        Assert.AreEqual(0, speculative.Exit, speculative.Error);
        StringAssert.Contains(speculative.Error, "(Fp16)", "a checkpoint exported at fp16 for the drafts");
        using var json = JsonDocument.Parse(speculative.Output);
        Assert.AreEqual(JsonDocument.Parse(plain.Output).RootElement.GetProperty("tokens").GetRawText(), json.RootElement.GetProperty("tokens").GetRawText());
        // the target accepts its own drafts; a random draft model's are tried at least
        Assert.IsGreaterThan(0, json.RootElement.GetProperty("speculative").GetProperty(mode == "self" ? "accepted" : "rounds").GetInt32());
    }

    [TestMethod]
    [DataRow("lookup", "checkpoint", "--draft-precision applies where a model drafts")]
    [DataRow("self", "export", "is an export (of one precision)")]
    [DataRow("draft", "export", "is an export (of one precision); name a checkpoint folder or a catalog model for --draft")]
    public async Task Generate_DraftPrecisionWithoutACheckpointToDraftFrom_IsOneError(string mode, string model, string expected)
    {
        var folder = CliRunner.Checkpoint();
        if (model == "export")
        {
            var export = Path.Combine(Path.GetTempPath(), $"condensa-draft-precision-{Guid.NewGuid():N}");   // under the temp folder, as the runner's checkpoints
            var exported = await CliRunner.Run("export", "--checkpoint", folder, "--out", export);
            Assert.AreEqual(0, exported.Exit, exported.Error);
            folder = export;
        }
        // draft mode: the target is the checkpoint, and the export drafts for it
        string[] models = mode == "draft" ? ["--model", CliRunner.Checkpoint(), "--draft", folder] : ["--model", folder];
        var (exit, _, error) = await CliRunner.Run(["generate", .. models, "--prompt", "abc", "--max-tokens", "4", "--speculative", mode,
            "--draft-precision", "fp16"]);
        Assert.AreEqual(1, exit);
        StringAssert.Contains(error, expected);
    }

    [TestMethod]
    public async Task Generate_FusedAttention_SameTokensAsGeneralGraph()
    {
        var target = CliRunner.Checkpoint();
        string[] common = ["generate", "--model", target, "--prompt", "def f(x): return x", "--max-tokens", "40", "--json"];
        var general = await CliRunner.Run([.. common, "--fused-attention", "off"]);
        var fused = await CliRunner.Run([.. common, "--fused-attention", "on"]);
        Assert.AreEqual(0, fused.Exit, fused.Error);
        Assert.AreEqual(JsonDocument.Parse(general.Output).RootElement.GetProperty("tokens").GetRawText(),
            JsonDocument.Parse(fused.Output).RootElement.GetProperty("tokens").GetRawText());
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
        var draft = CliRunner.DraftCheckpoint();
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
