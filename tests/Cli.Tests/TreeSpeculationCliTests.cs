using System.Text.Json;
using Condensa.Cli.Commands;
using Condensa.Speculative;
using Condensa.Speculative.Trees;
using Condensa.TestSupport;

namespace Condensa.Cli.Tests;

[TestClass]
public sealed class TreeSpeculationCliTests
{
    [TestMethod]
    [DataRow(false, "auto", null)]
    [DataRow(true, "6", "3")]
    public async Task Generate_TreeGreedy_SameTokensAsPlain(bool withDraft, string size, string? depth)
    {
        var target = CliRunner.Checkpoint();
        var draft = CliRunner.DraftCheckpoint();
        string[] common = ["generate", "--model", target, "--prompt", "abc abc abc ab", "--max-tokens", "24", "--json"];
        var plain = await CliRunner.Run(common);
        string[] tree = ["--speculative", "tree", "--tree-size", size, "--sinks", "2", "--window", "8",
            .. withDraft ? new[] { "--draft", draft } : [], .. depth is null ? [] : new[] { "--tree-depth", depth }];
        var speculative = await CliRunner.Run([.. common, .. tree]);
        Assert.AreEqual(0, speculative.Exit, speculative.Error);
        using var json = JsonDocument.Parse(speculative.Output);
        Assert.AreEqual(JsonDocument.Parse(plain.Output).RootElement.GetProperty("tokens").GetRawText(), json.RootElement.GetProperty("tokens").GetRawText());
        var spec = json.RootElement.GetProperty("speculative");
        Assert.AreEqual(withDraft ? "tree-draft" : "tree-self", spec.GetProperty("drafter").GetString());
        Assert.IsGreaterThan(0, spec.GetProperty("rounds").GetInt32());
    }

    [TestMethod]
    public async Task Calibrate_ThenGenerateTree_UsesTheSavedCalibration()
    {
        var target = CliRunner.Checkpoint();
        var draft = CliRunner.DraftCheckpoint();
        var (exit, output, error) = await CliRunner.Run("calibrate", "--model", target, "--draft", draft, "--tokens", "12", "--batch", "1,2",
            "--context", "16,64", "--pass-tokens", "1,8", "--repeats", "1", "--max-children", "4");
        Assert.AreEqual(0, exit, error);
        StringAssert.Contains(output, "acceptance (");
        StringAssert.Contains(output, "batch 2, context 64: tree of");
        StringAssert.Contains(output, "chain draft step:");
        var saved = output.Split('\n').Single(l => l.StartsWith("saved ", StringComparison.Ordinal))["saved ".Length..].Trim();
        using (var calibration = JsonDocument.Parse(File.ReadAllText(saved)))
        {
            Assert.AreEqual(4, calibration.RootElement.GetProperty("acceptance").GetArrayLength());
            Assert.AreEqual(8, calibration.RootElement.GetProperty("target_samples").GetArrayLength());   // 2 batches x 2 contexts x 2 sizes
            Assert.AreEqual(4, calibration.RootElement.GetProperty("plain_samples").GetArrayLength());    // 2 batches x 2 contexts, one token
            Assert.AreEqual(8, calibration.RootElement.GetProperty("chain_target_samples").GetArrayLength());
            Assert.AreEqual(4, calibration.RootElement.GetProperty("chain_draft_samples").GetArrayLength());
        }

        string[] common = ["generate", "--model", target, "--prompt", "abc abc abc ab", "--max-tokens", "16", "--json"];
        var plain = await CliRunner.Run(common);
        var tree = await CliRunner.Run([.. common, "--speculative", "tree", "--draft", draft]);
        Assert.AreEqual(0, tree.Exit, tree.Error);
        Assert.DoesNotContain("default prior", tree.Error);
        Assert.AreEqual(JsonDocument.Parse(plain.Output).RootElement.GetProperty("tokens").GetRawText(),
            JsonDocument.Parse(tree.Output).RootElement.GetProperty("tokens").GetRawText());
    }

    [TestMethod]
    public async Task Calibrate_SelfSpeculation_MeasuresAcceptancePastTheBudget_OrSaysTheTextIsTooShort()
    {
        var target = CliRunner.Checkpoint();
        string[] common = ["calibrate", "--model", target, "--tokens", "12", "--batch", "1", "--context", "16", "--pass-tokens", "1", "--repeats", "1",
            "--sinks", "2"];

        var (exit, output, error) = await CliRunner.Run([.. common, "--window", "8"]);
        Assert.AreEqual(0, exit, error);
        var positions = int.Parse(output.Split("acceptance (")[1].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        Assert.IsGreaterThan(0, positions);

        var tooShort = await CliRunner.Run([.. common, "--window", "4000"]);
        Assert.AreEqual(1, tooShort.Exit);
        StringAssert.Contains(tooShort.Error, "past its sink + window budget");
        StringAssert.Contains(tooShort.Error, "--tokens");
    }

    [TestMethod]
    public async Task Calibrate_SelfSpeculation_TimesChainDraftStepsPastTheBudget_AndSaysTheWindowEachBatchTakes()
    {
        var (exit, output, error) = await CliRunner.Run("calibrate", "--model", CliRunner.Checkpoint(), "--tokens", "12", "--batch", "1,2",
            "--context", "16,150", "--pass-tokens", "1", "--repeats", "1", "--sinks", "2", "--window", "8");
        Assert.AreEqual(0, exit, error);
        var saved = output.Split('\n').Single(l => l.StartsWith("saved ", StringComparison.Ordinal))["saved ".Length..].Trim();
        var calibration = TreeCalibration.Load(Path.GetDirectoryName(saved)!, "self-2-8")!;
        var limit = calibration.DraftContextLimit!.Value;
        // a chain's draft step over the budget's slots and past them (what a wider window would cost); tree-shaped draft
        // passes still run over the budget alone
        CollectionAssert.AreEqual(new[] { limit, limit, 150, 150 }, calibration.ChainDraftSamples.Select(s => s.Context).Order().ToArray());
        Assert.IsTrue(calibration.DraftSamples.All(s => s.Context <= limit));
        foreach (var batch in new[] { 1, 2 })
        {
            var window = Speculation.SelfWindow(new SpeculationOptions { Mode = SpeculationMode.Self, Sinks = 2, Window = 8, Calibration = calibration }, batch);
            StringAssert.Contains(output, $"batch {batch}: self-speculation's window {window} (--window 8");
        }
    }

    [TestMethod]
    public async Task Calibrate_SelfSpeculationDraftedAtFp16_SavesAPairOfItsOwnThatTreesThenRead()
    {
        var target = CliRunner.Checkpoint();
        var (exit, output, error) = await CliRunner.Run("calibrate", "--model", target, "--tokens", "12", "--batch", "1", "--context", "16",
            "--pass-tokens", "1", "--repeats", "1", "--sinks", "2", "--window", "8", "--draft-precision", "fp16");
        Assert.AreEqual(0, exit, error);
        StringAssert.Contains(error, "(Fp16)", "the checkpoint exported at fp16 drafts");
        StringAssert.Contains(output, "calibration-self-2-8-fp16.json", "a key apart from the model drafting itself");

        // a tree drafted by the fp16 export finds it (no note about the prior) and keeps the target's greedy tokens
        string[] common = ["generate", "--model", target, "--prompt", "abc abc abc ab", "--max-tokens", "16", "--json"];
        var plain = await CliRunner.Run(common);
        var tree = await CliRunner.Run([.. common, "--speculative", "tree", "--sinks", "2", "--window", "8", "--draft-precision", "fp16"]);
        Assert.AreEqual(0, tree.Exit, tree.Error);
        Assert.DoesNotContain("condensa calibrate", tree.Error);
        Assert.AreEqual(System.Text.Json.JsonDocument.Parse(plain.Output).RootElement.GetProperty("tokens").GetRawText(),
            System.Text.Json.JsonDocument.Parse(tree.Output).RootElement.GetProperty("tokens").GetRawText());
    }

    [TestMethod]
    public async Task Calibrate_SelfSpeculation_GeneratesPastTheBudget_WhereTokensPerPromptFallShort()
    {
        var target = CliRunner.Checkpoint(new TinyModelSpec { Architecture = "llama", Seed = 5, MaxPositionEmbeddings = 1024 });
        // one token after each default prompt leaves the text short of a 2 + 200 + 265-slack budget; the continuations grow to pass it
        var (exit, output, error) = await CliRunner.Run("calibrate", "--model", target, "--tokens", "1", "--batch", "1", "--context", "16",
            "--pass-tokens", "1", "--repeats", "1", "--sinks", "2", "--window", "200");
        Assert.AreEqual(0, exit, error);
        var positions = int.Parse(output.Split("acceptance (")[1].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        Assert.IsGreaterThanOrEqualTo(CalibrateCommand.MinPositionsPastBudget, positions);
    }

    [TestMethod]
    [DataRow(64, 124, 6, 593, 121)]     // the default prompts at a 256-token window: 124 + 6 x 121 = 850 = 593 + 1 + 256
    [DataRow(64, 1000, 6, 593, 64)]     // prompts past the budget already: as asked
    [DataRow(200, 124, 6, 593, 200)]    // more asked than needed: as asked
    public void SelfContinuationTokens_ReachPastTheBudget(int requested, int promptTokens, int prompts, int budgetSlots, int expected) =>
        Assert.AreEqual(expected, CalibrateCommand.SelfContinuationTokens(requested, promptTokens, prompts, budgetSlots));

    [TestMethod]
    public async Task Generate_TreeWithoutCalibration_SaysItUsesThePrior()
    {
        var target = CliRunner.Checkpoint();
        var (exit, _, error) = await CliRunner.Run("generate", "--model", target, "--prompt", "a", "--max-tokens", "4", "--speculative", "tree");
        Assert.AreEqual(0, exit, error);
        StringAssert.Contains(error, "condensa calibrate");
    }

    [TestMethod]
    [DataRow("--tree-size", "zero", "'zero'")]
    [DataRow("--tree-depth", "0", "--tree-depth")]
    public async Task Generate_BadTreeOption_NamesIt(string option, string value, string expected)
    {
        var target = CliRunner.Checkpoint();
        var (exit, _, error) = await CliRunner.Run("generate", "--model", target, "--prompt", "a", "--speculative", "tree", option, value);
        Assert.AreEqual(1, exit);
        StringAssert.Contains(error, expected);
    }
}
