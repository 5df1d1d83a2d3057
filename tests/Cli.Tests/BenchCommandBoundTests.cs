using System.Text.Json;
using System.Xml.Linq;

namespace Condensa.Cli.Tests;

/// <summary><c>condensa bench</c>'s bandwidth bound, peak memory, --chart and their option errors, end to end on a tiny checkpoint.</summary>
[TestClass]
public sealed class BenchCommandBoundTests
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    private static readonly string[] Quick = ["--context", "16", "--runs", "1", "--decode-steps", "2", "--prefill-tokens", "8", "--threads", "1"];

    [TestMethod]
    public async Task Bench_GivenBandwidthAndChart_WellFormedSvgWithOneBarPerRowAndTheModelName()
    {
        // a model name that must be escaped in XML
        var model = Path.Combine(Directory.CreateTempSubdirectory().FullName, "tiny <a&b>");
        Directory.Move(CliRunner.Checkpoint(), model);
        var chart = Path.Combine(Directory.CreateTempSubdirectory().FullName, "decode.svg");
        var json = Path.ChangeExtension(chart, ".json");

        var (exit, output, error) = await CliRunner.Run(["bench", "-m", model, "--batch", "1,2", .. Quick, "--bandwidth", "10",
            "--chart", chart, "--json", json]);

        Assert.AreEqual(0, exit, error);
        StringAssert.StartsWith(output, "read bandwidth: 10.0 GB/s (given by --bandwidth)");
        StringAssert.Contains(output, "| bound tok/s | of bound |");
        StringAssert.Contains(output, "peak working set: ");
        var svg = XDocument.Load(chart).Root!;
        Assert.AreEqual(Svg + "svg", svg.Name);
        Assert.HasCount(2, svg.Descendants(Svg + "rect").Where(r => (string?)r.Attribute("class") == "bar"));
        Assert.HasCount(2, svg.Descendants(Svg + "rect").Where(r => (string?)r.Attribute("class") == "bound"));
        Assert.IsTrue(svg.Descendants(Svg + "text").Any(t => t.Value == model), "the legend names the model, unescaped once parsed");
        Assert.IsTrue(svg.Descendants(Svg + "text").Any(t => t.Value == "batch 2, ctx 16"));
    }

    [TestMethod]
    public async Task Bench_GivenBandwidth_JsonBoundFollowsFromItsOwnFields()
    {
        var json = Path.Combine(Directory.CreateTempSubdirectory().FullName, "bench.json");

        var (exit, _, error) = await CliRunner.Run(["bench", "-m", CliRunner.Checkpoint(), "--batch", "1,3", .. Quick, "--bandwidth", "10", "--json", json]);

        Assert.AreEqual(0, exit, error);
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var root = doc.RootElement;
        var bandwidth = root.GetProperty("bandwidth");
        Assert.AreEqual("given", bandwidth.GetProperty("source").GetString());
        var bytesPerSecond = bandwidth.GetProperty("gigabytes_per_second").GetDouble() * 1e9;
        Assert.AreEqual(10e9, bytesPerSecond);
        Assert.IsGreaterThan(0L, root.GetProperty("peak_working_set_bytes").GetInt64());
        var rows = root.GetProperty("rows").EnumerateArray().ToList();
        Assert.HasCount(2, rows);
        var weights = rows[0].GetProperty("bound").GetProperty("weight_bytes_per_step").GetInt64();
        Assert.IsGreaterThan(0L, weights);
        foreach (var row in rows)
        {
            var bound = row.GetProperty("bound");
            int batch = row.GetProperty("batch").GetInt32(), slots = bound.GetProperty("kv_slots_read").GetInt32();
            Assert.AreEqual(weights, bound.GetProperty("weight_bytes_per_step").GetInt64(), "one model: the same weights every row");
            Assert.IsGreaterThanOrEqualTo(16 + 2 + 2, slots, "the cache holds the context, the timed steps and the warm-up");
            var kvPerRow = bound.GetProperty("kv_bytes_read_per_row").GetInt64();
            Assert.AreEqual(slots * row.GetProperty("kv_bytes_per_token").GetInt64(), kvPerRow);
            var bytesPerToken = bound.GetProperty("bytes_per_token").GetDouble();
            Assert.AreEqual((double)weights / batch + kvPerRow, bytesPerToken, 1e-6);
            var tokensPerSecond = bound.GetProperty("tokens_per_second").GetDouble();
            Assert.AreEqual(bytesPerSecond / bytesPerToken, tokensPerSecond, tokensPerSecond * 1e-12);
            Assert.AreEqual(row.GetProperty("decode_tokens_per_second").GetDouble() / tokensPerSecond, bound.GetProperty("of_bound").GetDouble(), 1e-12);
        }
    }

    [TestMethod]
    public async Task Bench_NoBandwidth_BoundColumnsEmpty()
    {
        var json = Path.Combine(Directory.CreateTempSubdirectory().FullName, "bench.json");

        var (exit, output, error) = await CliRunner.Run(["bench", "-m", CliRunner.Checkpoint(), "--batch", "1", .. Quick, "--no-bandwidth", "--json", json]);

        Assert.AreEqual(0, exit, error);
        StringAssert.StartsWith(output, "read bandwidth: not measured (--no-bandwidth)");
        StringAssert.Contains(output, "| - | - |");
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var bound = doc.RootElement.GetProperty("rows")[0].GetProperty("bound");
        Assert.AreEqual(JsonValueKind.Null, bound.GetProperty("tokens_per_second").ValueKind);
        Assert.IsGreaterThan(0.0, bound.GetProperty("bytes_per_token").GetDouble());
    }

    [TestMethod]
    public async Task Bench_SpeculativeChart_OneBarPerModeAndTheOneXLine()
    {
        var (dir, prompts) = await RepetitivePrompts();
        var chart = Path.Combine(dir, "speculative.svg");

        var (exit, _, error) = await CliRunner.Run("bench", "-m", CliRunner.Checkpoint(), "--speculative", "none,lookup", "--prompt-file", prompts,
            "--batch", "1", "--context", "12", "--max-tokens", "6", "--runs", "1", "--chart", chart);

        Assert.AreEqual(0, exit, error);
        var svg = XDocument.Load(chart).Root!;
        Assert.HasCount(2, svg.Descendants(Svg + "rect").Where(r => (string?)r.Attribute("class") == "bar"));
        Assert.IsTrue(svg.Descendants(Svg + "text").Any(t => t.Value == "lookup"));
        Assert.IsTrue(svg.Descendants(Svg + "text").Any(t => t.Value == "1.00x"), "mode none is plain decoding: 1.00x");
    }

    [TestMethod]
    public async Task Bench_Speculative_PrintsThePlannersChoicePerRow()
    {
        var (dir, prompts) = await RepetitivePrompts();

        var json = Path.Combine(dir, "speculative.json");
        var (exit, output, error) = await CliRunner.Run("bench", "-m", CliRunner.Checkpoint(), "--speculative", "none,lookup,tree-self", "--prompt-file",
            prompts, "--batch", "1", "--context", "16", "--max-tokens", "6", "--runs", "1", "--gamma", "3", "--tree-size", "5", "--tree-depth", "2",
            "--json", json);

        Assert.AreEqual(0, exit, error);
        string Row(string mode) => output.Split('\n').Single(l => l.StartsWith($"| {mode} |", StringComparison.Ordinal));
        StringAssert.Contains(Row("lookup"), "| γ 3 |");
        StringAssert.Contains(Row("tree-self"), "| tree 5 × 2 |", "the pinned tree, as the planner returns it");
        // unpinned, the rounds' own choices beside the calibration's: the first two at one row are plain (0 drafts)
        var (unpinnedExit, unpinned, unpinnedError) = await CliRunner.Run("bench", "-m", CliRunner.Checkpoint(), "--speculative", "none,tree-self",
            "--prompt-file", prompts, "--batch", "1", "--context", "16", "--max-tokens", "6", "--runs", "1");
        Assert.AreEqual(0, unpinnedExit, unpinnedError);
        StringAssert.Matches(unpinned.Split('\n').Single(l => l.StartsWith("| tree-self |", StringComparison.Ordinal)),
            new System.Text.RegularExpressions.Regex(@"\| tree \d+ × \d+, drafts a round: (.*, )?0 \d+ %"));
        StringAssert.Contains(Row("none"), "| - |");
        var rows = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(json))!["rows"]!.AsArray();
        var lookup = rows.Single(r => (string?)r!["mode"] == "lookup")!;
        Assert.AreEqual(1.0, (double)lookup["rows_per_round"]!, "one row: every round serves it (tools/bench/predict_speedup.py reads this)");
        Assert.AreEqual(0.0, (double)lookup["row_moves"]!, "one row never moves");
        Assert.IsGreaterThanOrEqualTo(0.0, (double)lookup["ms_outside_rounds"]!, "decode time outside the rounds' drafting and verifying");
        Assert.AreEqual(0.0, (double)lookup["graphs_captured"]!, "the CPU captures no CUDA graphs");
        foreach (var row in rows)
        {
            var (prefill, run) = ((double)row!["prefill_seconds"]!, (double)row["run_seconds"]!);
            Assert.IsGreaterThan(0.0, prefill, "the prompts' prefill is timed");
            Assert.IsGreaterThan(prefill, run, "a run is its prefill and its decoding");
        }
        // run 0 warms up with the same prompts, so a timed run meets a shape first only where its rounds took another path
        Assert.AreEqual(0.0, (double)rows.Single(r => (string?)r!["mode"] == "none")!["new_pass_shapes"]!, "plain decoding's shapes all ran in the warm-up");
    }

    [TestMethod]
    public async Task Bench_SpeculativeDraftPrecision_DraftsByTheFp16ExportsKeepPlainTokens()
    {
        var (dir, prompts) = await RepetitivePrompts();
        var json = Path.Combine(dir, "draft-precision.json");
        var (target, draft) = (CliRunner.Checkpoint(), CliRunner.DraftCheckpoint());
        var (exit, output, error) = await CliRunner.Run("bench", "-m", target, "--speculative", "none,self@3,draft@3", "--draft", draft,
            "--prompt-file", prompts, "--batch", "2", "--context", "16", "--max-tokens", "6", "--runs", "1", "--window", "32", "--draft-precision", "fp16",
            "--json", json);

        Assert.AreEqual(0, exit, error);   // 2 where a row leaves plain decoding's tokens
        foreach (var name in new[] { Path.GetFileName(target), Path.GetFileName(draft) })
            Assert.IsTrue(error.Split('\n').Any(l => l.Contains(name, StringComparison.Ordinal) && l.Contains("(Fp16)", StringComparison.Ordinal)),
                $"{name} exported at fp16 to draft:\n{error}");
        foreach (var mode in new[] { "self@3", "draft@3" })
            StringAssert.EndsWith(output.Split('\n').Single(l => l.StartsWith($"| {mode} |", StringComparison.Ordinal)).TrimEnd(), "| yes |");
        var settings = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(json))!["settings"]!;
        Assert.AreEqual("fp16", (string?)settings["draft_precision"]);

        var (noSelf, _, noSelfError) = await CliRunner.Run("bench", "-m", CliRunner.Checkpoint(), "--speculative", "none,lookup", "--prompt-file", prompts,
            "--batch", "1", "--context", "16", "--max-tokens", "4", "--runs", "1", "--draft-precision", "fp16");
        Assert.AreEqual(1, noSelf);
        StringAssert.Contains(noSelfError, "--draft-precision applies where a model drafts (self, draft or tree), not to the modes none,lookup");
    }

    // The best fixed γ beside the planner against one plain decoding: entries pinned with "@N" run as rows of their own.
    [TestMethod]
    public async Task Bench_SpeculativePinnedGamma_RowsOfTheirOwnBesideThePlanners()
    {
        var (dir, prompts) = await RepetitivePrompts();
        var json = Path.Combine(dir, "speculative.json");

        var (exit, output, error) = await CliRunner.Run("bench", "-m", CliRunner.Checkpoint(), "--speculative", "none,lookup,lookup@2,lookup@5",
            "--prompt-file", prompts, "--batch", "2", "--context", "16", "--max-tokens", "8", "--runs", "1", "--json", json);

        Assert.AreEqual(0, exit, error);
        string Row(string mode) => output.Split('\n').Single(l => l.StartsWith($"| {mode} |", StringComparison.Ordinal));
        StringAssert.Contains(Row("lookup"), "| γ auto");
        StringAssert.Contains(Row("lookup@2"), "| γ 2 |");
        StringAssert.Contains(Row("lookup@5"), "| γ 5 |");
        StringAssert.Contains(output, "lookup at batch 2 x 16: the planner ", "the planner against the best pinned entry");
        var rows = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(json))!["rows"]!.AsArray();
        var pinned = rows.Single(r => (string?)r!["mode"] == "lookup@2")!;
        Assert.IsLessThanOrEqualTo(2.0, (double)pinned["drafted_per_round"]!, "γ 2 drafts at most two a round");
        Assert.IsTrue(rows.All(r => (bool)r!["same_tokens_as_plain"]!), "every entry keeps plain decoding's tokens");

        var (bad, _, badError) = await CliRunner.Run("bench", "-m", CliRunner.Checkpoint(), "--speculative", "none,self@0", "--prompt-file", prompts,
            "--batch", "1", "--context", "16");
        Assert.AreNotEqual(0, bad);
        StringAssert.Contains(badError, "--speculative 'self@0': after '@' comes a positive γ");
    }

    [TestMethod]
    public async Task Bench_SpeculativeTrace_OneLinePerRoundThatSumToTheRow()
    {
        var (dir, prompts) = await RepetitivePrompts();
        var (json, trace) = (Path.Combine(dir, "speculative.json"), Path.Combine(dir, "rounds.jsonl"));

        var (exit, _, error) = await CliRunner.Run("bench", "-m", CliRunner.Checkpoint(), "--speculative", "none,lookup", "--prompt-file", prompts,
            "--batch", "2", "--context", "16", "--max-tokens", "8", "--runs", "1", "--gamma", "3", "--json", json, "--trace", trace);

        Assert.AreEqual(0, exit, error);
        var lines = (await File.ReadAllLinesAsync(trace)).Select(l => System.Text.Json.Nodes.JsonNode.Parse(l)!).ToArray();
        Assert.IsTrue(lines.All(l => (string?)l["mode"] == "lookup"), "plain decoding has no rounds to trace");
        var timed = lines.Where(l => (int)l["run"]! == 1).Select(l => l["measured"]!).ToArray();   // run 0 warms up
        Assert.IsNotEmpty(timed);
        Assert.IsTrue(timed.All(r => (int)r["planned_drafts"]! == 3 && (int)r["active_rows"]! is >= 1 and <= 2));
        Assert.IsTrue(timed.All(r => (int)r["longest_proposal"]! <= 3 && (int)r["accepted"]! <= (int)r["proposed"]!));
        var proposed = timed.Sum(r => (int)r["proposed"]!);
        var row = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(json))!["rows"]!.AsArray().Single(r => (string?)r!["mode"] == "lookup")!;
        Assert.IsGreaterThan(0, proposed, "repetitive text: lookup drafts");
        Assert.AreEqual((double)row["acceptance_rate"]!, (double)timed.Sum(r => (int)r["accepted"]!) / proposed, 1e-9);
        Assert.AreEqual((double)row["drafted_per_round"]!, (double)proposed / timed.Sum(r => (int)r["active_rows"]!), 1e-9);

        var (misplaced, _, misplacedError) = await CliRunner.Run("bench", "-m", CliRunner.Checkpoint(), "--batch", "1", "--context", "8", "--trace", trace);
        Assert.AreNotEqual(0, misplaced);
        StringAssert.Contains(misplacedError, "--trace records speculative rounds; it needs --speculative.");
    }

    [TestMethod]
    public async Task Bench_AdaptiveSelfSpeculationWithACalibration_StartsAtTheGammaItPredicts()
    {
        // the pair's calibration saved beside the export, rewritten so that long chains pay (nearly every draft accepted, a
        // verification no dearer than a plain step): the first drafting round is γ = 12; with none it is γ = 1
        var (dir, prompts) = await RepetitivePrompts();
        string[] bench = ["bench", "-m", "MODEL", "--speculative", "self", "--sinks", "2", "--window", "8", "--prompt-file", prompts,
            "--batch", "1", "--context", "16", "--max-tokens", "24", "--runs", "1", "--trace", "TRACE"];
        async Task<int> FirstDraftingGamma(string model, string trace)
        {
            var (exit, _, error) = await CliRunner.Run([.. bench.Select(a => a switch { "MODEL" => model, "TRACE" => trace, _ => a })]);
            Assert.AreEqual(0, exit, error);
            return (await File.ReadAllLinesAsync(trace)).Select(l => System.Text.Json.Nodes.JsonNode.Parse(l)!["measured"]!)
                .Select(m => (int)m["planned_depth"]!).First(d => d > 0);
        }

        var uncalibrated = CliRunner.Checkpoint(new Condensa.TestSupport.TinyModelSpec { Architecture = "llama", Seed = 31 });
        Assert.AreEqual(1, await FirstDraftingGamma(uncalibrated, Path.Combine(dir, "uncalibrated.jsonl")));

        var target = CliRunner.Checkpoint(new Condensa.TestSupport.TinyModelSpec { Architecture = "llama", Seed = 32 });
        var (calibrated, output, calibrateError) = await CliRunner.Run("calibrate", "--model", target, "--tokens", "12", "--batch", "1",
            "--context", "16", "--pass-tokens", "1", "--repeats", "1", "--sinks", "2", "--window", "8");
        Assert.AreEqual(0, calibrated, calibrateError);
        var saved = output.Split('\n').Single(l => l.StartsWith("saved ", StringComparison.Ordinal))["saved ".Length..].Trim();
        var exportDir = Path.GetDirectoryName(saved)!;
        var measured = Condensa.Speculative.Trees.TreeCalibration.Load(exportDir, "self-2-8")!;
        (measured with
        {
            Acceptance = [0.99, 0.005],
            Target = new Condensa.Speculative.Trees.StepTimeModel(0.001, 0, 0, 0),
            Draft = new Condensa.Speculative.Trees.StepTimeModel(0.0001, 0, 0, 0),
            Plain = new Condensa.Speculative.Trees.StepTimeModel(0.001, 0, 0, 0),
            ChainTarget = new Condensa.Speculative.Trees.StepTimeModel(0.001, 0, 0, 0),
            ChainDraft = new Condensa.Speculative.Trees.StepTimeModel(0.0001, 0, 0, 0),
        }).Save(exportDir);
        Assert.AreEqual(12, await FirstDraftingGamma(target, Path.Combine(dir, "calibrated.jsonl")));
    }

    [TestMethod]
    public async Task Bench_SpeculativeDocumentsPerRow_RefillsTheRowsWithEveryPromptAndKeepsPlainTokens()
    {
        var (dir, prompts) = await RepetitivePrompts();
        var (json, trace) = (Path.Combine(dir, "speculative.json"), Path.Combine(dir, "rounds.jsonl"));

        var (exit, output, error) = await CliRunner.Run("bench", "-m", CliRunner.Checkpoint(), "--speculative", "none,lookup", "--prompt-file", prompts,
            "--batch", "2", "--context", "16", "--max-tokens", "8", "--runs", "1", "--gamma", "3", "--documents-per-row", "3", "--json", json,
            "--trace", trace);

        Assert.AreEqual(0, exit, error);
        StringAssert.Contains(output, "each row took 3 prompts in turn");
        var row = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(json))!["rows"]!.AsArray().Single(r => (string?)r!["mode"] == "lookup")!;
        Assert.IsTrue((bool)row["same_tokens_as_plain"]!, "six documents through two rows give plain decoding's tokens");
        // every round commits its accepted drafts and one more token per row: six documents' tokens after their first, not two
        var timed = (await File.ReadAllLinesAsync(trace)).Select(l => System.Text.Json.Nodes.JsonNode.Parse(l)!).Where(l => (int)l["run"]! == 1)
            .Select(l => l["measured"]!).ToArray();
        Assert.AreEqual(6 * (8 - 1), timed.Sum(r => (int)r["accepted"]! + (int)r["active_rows"]!));
        Assert.IsTrue(timed.All(r => (int)r["active_rows"]! <= 2), "never more documents at once than rows");
        // the warm-up (run 0) decodes one document a row: the runs' pass shapes without prefilling all six again
        var warm = (await File.ReadAllLinesAsync(trace)).Select(l => System.Text.Json.Nodes.JsonNode.Parse(l)!).Where(l => (int)l["run"]! == 0)
            .Select(l => l["measured"]!).ToArray();
        Assert.AreEqual(2 * (8 - 1), warm.Sum(r => (int)r["accepted"]! + (int)r["active_rows"]!));

        var (misplaced, _, misplacedError) = await CliRunner.Run("bench", "-m", CliRunner.Checkpoint(), "--batch", "1", "--context", "8",
            "--documents-per-row", "2");
        Assert.AreNotEqual(0, misplaced);
        StringAssert.Contains(misplacedError, "--documents-per-row refills the rows of --speculative runs; it needs --speculative.");
    }

    [TestMethod]
    public async Task Bench_SpeculativeStoppedAfterACell_TheJsonAndChartKeepTheCellsMeasured()
    {
        // a grid of two cells (contexts 12 and 16), stopped once the first is measured, as a device call's time limit stops one
        var (dir, prompts) = await RepetitivePrompts();
        var json = Path.Combine(dir, "speculative.json");
        var chart = Path.Combine(dir, "speculative.svg");
        using var stop = new CancellationTokenSource();
        var error = new StopAfter("measured prompt 12 x batch 1", stop);

        var exit = await CliApp.RunAsync(["bench", "-m", CliRunner.Checkpoint(), "--speculative", "none,lookup", "--prompt-file", prompts,
            "--batch", "1", "--context", "12,16", "--max-tokens", "6", "--runs", "1", "--json", json, "--chart", chart], new StringWriter(), error,
            stop.Token);

        Assert.AreEqual(130, exit, error.ToString());
        var written = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(json))!;
        Assert.IsFalse((bool)written["complete"]!, "the grid did not finish");
        var rows = written["rows"]!.AsArray();
        CollectionAssert.AreEqual(new[] { "none", "lookup" }, rows.Select(r => (string?)r!["mode"]).ToArray());
        Assert.IsTrue(rows.All(r => (int)r!["prompt_tokens"]! == 12), "only the first cell was measured");
        var drawn = await File.ReadAllTextAsync(chart);
        StringAssert.Contains(drawn, "batch 1, prompt 12", "the chart draws the cell measured");
        Assert.DoesNotContain("prompt 16", drawn);

        var (finished, _, finishedError) = await CliRunner.Run("bench", "-m", CliRunner.Checkpoint(), "--speculative", "none,lookup", "--prompt-file",
            prompts, "--batch", "1", "--context", "12,16", "--max-tokens", "6", "--runs", "1", "--json", json);
        Assert.AreEqual(0, finished, finishedError);
        var whole = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(json))!;
        Assert.IsTrue((bool)whole["complete"]!);
        Assert.HasCount(4, whole["rows"]!.AsArray());
    }

    [TestMethod]
    public async Task Bench_SpeculativeStoppedWithinACell_TheJsonKeepsTheModesMeasured()
    {
        // stopped once plain decoding's runs of the first cell are in, before lookup's: a long cell cut by a device call's
        // time limit keeps the modes it finished
        var (dir, prompts) = await RepetitivePrompts();
        var json = Path.Combine(dir, "speculative.json");
        using var stop = new CancellationTokenSource();
        var error = new StopAfter("measured none at prompt 12 x batch 1", stop);

        var exit = await CliApp.RunAsync(["bench", "-m", CliRunner.Checkpoint(), "--speculative", "none,lookup", "--prompt-file", prompts,
            "--batch", "1", "--context", "12", "--max-tokens", "6", "--runs", "1", "--json", json], new StringWriter(), error, stop.Token);

        Assert.AreEqual(130, exit, error.ToString());
        var written = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(json))!;
        Assert.IsFalse((bool)written["complete"]!);
        var row = written["rows"]!.AsArray().Single()!;
        Assert.AreEqual("none", (string?)row["mode"]);
        Assert.IsGreaterThan(0.0, (double)row["decode_tokens_per_second"]!);
    }

    // The bench's log, which cancels the run once a line with the given text is written.
    private sealed class StopAfter(string text, CancellationTokenSource stop) : StringWriter
    {
        public override void WriteLine(string? value)
        {
            base.WriteLine(value);
            if (value?.Contains(text, StringComparison.Ordinal) == true) stop.Cancel();
        }
    }

    // A folder with prompts.txt: text that repeats, so prompt lookup drafts often.
    private static async Task<(string Dir, string Prompts)> RepetitivePrompts()
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        var prompts = Path.Combine(dir, "prompts.txt");
        await File.WriteAllTextAsync(prompts, string.Concat(Enumerable.Repeat("abc abd abc abe ", 20)));
        return (dir, prompts);
    }

    [TestMethod]
    [DataRow("--bandwidth 0 must be a positive number of GB/s", "--bandwidth", "0")]
    [DataRow("--bandwidth -2.5 must be a positive number of GB/s", "--bandwidth", "-2.5")]
    [DataRow("--bandwidth and --no-bandwidth exclude each other", "--bandwidth", "5", "--no-bandwidth")]
    [DataRow("--bandwidth-buffer 0 must be at least 1", "--bandwidth-buffer", "0")]
    [DataRow("--chart '", "--chart", "MISSING/chart.svg")]
    [DataRow("--json '", "--json", "MISSING/bench.json")]
    public async Task Bench_BadOutputOrBandwidth_OneClearErrorBeforeLoadingAnything(string expected, params string[] args)
    {
        var missing = Path.Combine(Path.GetTempPath(), $"condensa-no-such-folder-{Guid.NewGuid():N}");
        args = [.. args.Select(a => a.Replace("MISSING", missing, StringComparison.Ordinal))];

        // the model does not exist either: the option is checked first
        var (exit, output, error) = await CliRunner.Run(["bench", "-m", "no-such-model", .. args]);

        Assert.AreEqual(1, exit, output + error);
        StringAssert.Contains(error, expected);
        if (args[0] is "--chart" or "--json") StringAssert.Contains(error, $"folder '{missing}' does not exist");
        Assert.AreEqual(1, error.Split('\n').Count(l => l.StartsWith("error:", StringComparison.Ordinal)), error);
    }

    [TestMethod]
    public async Task Bench_JsonFileThatCannotBeWritten_FailsBeforeLoadingAnything()
    {
        // /sys exists on Linux and refuses new files even to root, where permission bits would not stop the write.
        if (!OperatingSystem.IsLinux()) Assert.Inconclusive("needs /sys");
        var (exit, output, error) = await CliRunner.Run("bench", "-m", "no-such-model", "--json", "/sys/condensa-bench.json");

        Assert.AreEqual(1, exit, output + error);
        StringAssert.StartsWith(error, "error: --json '/sys/condensa-bench.json' cannot be written: ");
        Assert.DoesNotContain("no-such-model", error);
        Assert.IsFalse(File.Exists("/sys/condensa-bench.json"));
    }
}
