using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Condensa.Cli.Bench;
using Condensa.Runtime;
using Condensa.Speculative.Trees;

namespace Condensa.Cli.Commands;

/// <summary>
/// <c>condensa bench</c>: the options, and who measures: <see cref="DecodeBench"/> (decode and prefill speed, KV bytes per
/// token, the largest batch within a KV budget, each row against its memory-bandwidth bound), with several models each in
/// a process of its own per round (<see cref="ProcessRotation"/>) so their ratios are fair, or <see cref="SpeculativeBench"/>
/// (--speculative).
/// </summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var models = new Option<string[]>("--model", "-m")
        {
            Description = "Catalog name, checkpoint folder or export folder; repeat to compare models in one run",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
        };
        var catalog = CommonOptions.Catalog();
        var precision = CommonOptions.Precision();
        var threads = CommonOptions.Threads();
        var execution = new ExecutionOptions();
        var batches = new Option<string>("--batch") { Description = "Batch sizes, comma-separated", DefaultValueFactory = _ => "1,8" };
        var contexts = new Option<string>("--context") { Description = "Cached tokens per row, comma-separated", DefaultValueFactory = _ => "512,2048" };
        var budget = new Option<long>("--kv-budget") { Description = "KV budget in bytes for the largest-batch column", DefaultValueFactory = _ => 256L << 20 };
        var steps = new Option<int>("--decode-steps") { Description = "Decode steps per timed run", DefaultValueFactory = _ => 16 };
        var runs = new Option<int>("--runs") { Description = "Timed runs per figure (the median is reported)", DefaultValueFactory = _ => 5 };
        var prefill = new Option<int>("--prefill-tokens") { Description = "Prompt length of the prefill figure (batch 1)", DefaultValueFactory = _ => 256 };
        var json = new Option<string?>("--json")
        {
            Description = "Also write the rows as JSON to this file (with --speculative, rewritten as each mode of each batch x context cell finishes, \"complete\": false until the last)",
        };
        var atBudget = new Option<bool>("--at-budget") { Description = "Also time decode at each model's largest batch within --kv-budget (throughput at equal KV memory)" };
        var speculative = new Option<string?>("--speculative")
        {
            Description = "Compare drafting modes on real prompts instead (comma-separated: none,draft,self,lookup,tree-draft,tree-self; " +
                "MODE@N pins a chain's γ or a tree's size, e.g. self@12 beside self); --context is then the prompt length",
        };
        var draftModel = new Option<string?>("--draft") { Description = "Draft model for the draft mode (default: the catalog's pairing)" };
        var gamma = new Option<string>("--gamma") { Description = "Draft length: auto (0, plain decoding, among its choices) or N", DefaultValueFactory = _ => "auto" };
        var promptFiles = new Option<string[]>("--prompt-file") { Description = "Text the speculative prompts are cut from (repeatable)", AllowMultipleArgumentsPerToken = true };
        var newTokens = new Option<int>("--max-tokens") { Description = "Tokens generated per row in speculative runs", DefaultValueFactory = _ => 128 };
        var documentsPerRow = new Option<int>("--documents-per-row")
        {
            Description = "Prompts each row takes in turn in --speculative runs: 1 is a static batch (rows that finish first idle until the " +
                "slowest ends); more refills finished rows from the rest, as extract and serve do, so the batch stays full until the end",
            DefaultValueFactory = _ => 1,
        };
        var draftPrecision = CommonOptions.DraftPrecision();
        var sinks = new Option<int>("--sinks") { Description = "Sinks of the self-speculation budget", DefaultValueFactory = _ => 16 };
        var window = new Option<int>("--window") { Description = SpeculationCommandOptions.WindowDescription, DefaultValueFactory = _ => 256 };
        var maxWindow = new Option<int?>("--max-window") { Description = SpeculationCommandOptions.MaxWindowDescription }.AtLeast(1);
        var treeSize = new Option<string>("--tree-size") { Description = "Tree nodes of the tree modes: auto (the planner sizes each round) or N", DefaultValueFactory = _ => "auto" };
        var treeDepth = new Option<int?>("--tree-depth") { Description = "Draft levels of the tree modes (default: chosen with the size)" }.AtLeast(1);
        var chart = new Option<string?>("--chart")
        {
            Description = "Also draw decode tok/s per batch and context (with --speculative: each mode's speedup, redrawn after each cell) as an SVG bar chart to this file",
        };
        var trace = new Option<string?>("--trace")
        {
            Description = "With --speculative: write every round of every mode as a JSON line to this file (the planner's shape, the longest " +
                "proposal, rows, drafts proposed and accepted, draft and verify ms)",
        };
        var bandwidth = new Option<double?>("--bandwidth")
        {
            Description = "Memory bandwidth in GB/s for the bound columns instead of measuring the host's (e.g. a GPU's HBM bandwidth)",
        };
        var noBandwidth = new Option<bool>("--no-bandwidth") { Description = "Neither measure the bandwidth nor show the bound columns" };
        var inProcess = new Option<bool>("--in-process")
        {
            Description = "Measure several models in this one process, taking turns run by run (default: a process per model and run)",
        };
        var bandwidthBuffer = new Option<int>("--bandwidth-buffer")
        {
            Description = "MiB the bandwidth measurement reads (far more than the last-level cache)",
            DefaultValueFactory = _ => (int)(MemoryBandwidth.DefaultBufferBytes >> 20),
        };

        var command = new Command("bench", "Measure decode/prefill tokens/s, KV bytes/token and the largest batch within a KV budget")
        {
            models, catalog, precision, threads, batches, contexts, budget, steps, runs, prefill, json, atBudget,
            speculative, draftModel, draftPrecision, gamma, promptFiles, newTokens, documentsPerRow, sinks, window, maxWindow, treeSize, treeDepth, chart, trace, bandwidth, noBandwidth, bandwidthBuffer,
            inProcess,
        };
        execution.AddTo(command);
        command.SetGuardedAction(async (parse, output, error, cancellationToken) =>
        {
            // Options that would fail only after minutes of measuring fail first.
            var jsonPath = OutputFile(parse.GetValue(json), "--json");
            var chartPath = OutputFile(parse.GetValue(chart), "--chart");
            var tracePath = OutputFile(parse.GetValue(trace), "--trace");
            if (tracePath is not null && parse.GetValue(speculative) is null) throw new ArgumentException("--trace records speculative rounds; it needs --speculative.");
            if (parse.GetValue(documentsPerRow) != 1 && parse.GetValue(speculative) is null)
                throw new ArgumentException("--documents-per-row refills the rows of --speculative runs; it needs --speculative.");
            var givenBandwidth = parse.GetValue(bandwidth);
            if (givenBandwidth is { } g && !(g > 0 && double.IsFinite(g)))
                throw new ArgumentException($"--bandwidth {g.ToString(CultureInfo.InvariantCulture)} must be a positive number of GB/s.");
            if (givenBandwidth is not null && parse.GetValue(noBandwidth))
                throw new ArgumentException("--bandwidth and --no-bandwidth exclude each other.");
            var bufferBytes = Positive(parse.GetValue(bandwidthBuffer), "--bandwidth-buffer") << 20;
            if (parse.GetValue(speculative) is { } modes)
            {
                if (givenBandwidth is not null) throw new ArgumentException("--bandwidth applies to the decode table; --speculative rows have no bound.");
                var entries = modes.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
                foreach (var entry in entries) BenchMode.Parse(entry);   // an unknown mode or a bad pin fails before any model loads
                var specSettings = new SpeculativeBenchSettings(entries,
                    ParseList(parse.GetValue(batches)!, "--batch"), ParseList(parse.GetValue(contexts)!, "--context"),
                    (int)Positive(parse.GetValue(newTokens), "--max-tokens"), (int)Positive(parse.GetValue(runs), "--runs"),
                    SpeculativeSetup.ParseGamma(parse.GetValue(gamma)!), parse.GetValue(sinks), parse.GetValue(window),
                    SpeculativeSetup.ParseTreeSize(parse.GetValue(treeSize)!), parse.GetValue(treeDepth),
                    (int)Positive(parse.GetValue(documentsPerRow), "--documents-per-row"),
                    parse.GetValue(draftPrecision)?.ToString().ToLowerInvariant(), parse.GetValue(maxWindow));
                return await RunSpeculative(parse.GetValue(models)!, parse.GetValue(catalog), parse.GetValue(precision),
                    session: resolved => execution.Settings(parse, parse.GetValue(threads), resolved.Entry),
                    parse.GetValue(draftModel), parse.GetValue(draftPrecision), parse.GetValue(promptFiles) ?? [], specSettings, jsonPath, chartPath, tracePath,
                    output, error, cancellationToken);
            }
            var settings = new DecodeBenchSettings(ParseList(parse.GetValue(batches)!, "--batch"), ParseList(parse.GetValue(contexts)!, "--context"),
                Positive(parse.GetValue(budget), "--kv-budget"), (int)Positive(parse.GetValue(steps), "--decode-steps"),
                (int)Positive(parse.GetValue(runs), "--runs"), (int)Positive(parse.GetValue(prefill), "--prefill-tokens"),
                parse.GetValue(atBudget));
            var modelNames = parse.GetValue(models)!;
            if (ProcessRotation.Applies(modelNames.Length, parse.GetValue(inProcess)))
            {
                var rotated = await MeasureRotated(modelNames, settings, parse.Tokens.Select(t => t.Value).ToArray(), cancellationToken);
                var rotatedBandwidth = givenBandwidth is { } gb ? Bandwidth.Given(gb)
                    : parse.GetValue(noBandwidth) ? Bandwidth.None
                    : MemoryBandwidth.Measure(bufferBytes, parse.GetValue(threads) ?? Environment.ProcessorCount);
                rotated = [.. rotated.Select(r => r with { Bound = r.Bound.At(rotatedBandwidth, r.DecodeTokensPerSecond, r.DecodeSlowest, r.DecodeFastest) })];
                await output.WriteLineAsync(rotatedBandwidth.Describe());
                await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"decode: median (slowest-fastest) of {settings.Runs} rounds, each model in a process of its own per round (one run of {settings.DecodeSteps} greedy steps per row)"));
                await output.WriteLineAsync(DecodeBench.Table(rotated, settings));
                if (jsonPath is not null)
                    await File.WriteAllTextAsync(jsonPath, JsonSerializer.Serialize(new { settings, bandwidth = rotatedBandwidth, rows = rotated }, JsonOptions),
                        cancellationToken);
                if (chartPath is not null)
                    await File.WriteAllTextAsync(chartPath, DecodeBench.DecodeChart(rotated, rotatedBandwidth, parse.GetValue(execution.Provider) ?? "cpu",
                        parse.GetValue(threads) ?? Environment.ProcessorCount), cancellationToken);
                return 0;
            }
            // One process: all models stay loaded and every figure is measured model after model, so a noisy neighbour
            // (or thermal drift) hits them alike; small models still slow each other (ProcessRotation).
            var decoders = new List<(string Name, DecoderModel Model)>();
            try
            {
                foreach (var name in parse.GetValue(models)!)
                {
                    var resolved = ModelResolver.Resolve(name, parse.GetValue(catalog), parse.GetValue(precision), error);
                    var model = DecoderModel.Load(resolved.ExportDir, execution.Settings(parse, parse.GetValue(threads), resolved.Entry));
                    decoders.Add((name, model));
                }
                // Each graph is read once: its weights for the bound columns, its node count for the note on stderr.
                var weights = decoders.Select(d => StepWeights.Of(d.Model.Directory, d.Model.Manifest)).ToArray();
                for (var m = 0; m < decoders.Count; m++) await error.WriteLineAsync(DecodeBench.Describe(decoders[m].Name, decoders[m].Model, weights[m]));
                var rows = DecodeBench.Measure(decoders, weights, settings, cancellationToken);
                // The peak is read before the bandwidth buffer exists, so it is the models' and the rows' alone.
                var peak = Machine.PeakWorkingSet();
                var threadCount = parse.GetValue(threads) ?? Environment.ProcessorCount;
                var measured = givenBandwidth is { } given ? Bandwidth.Given(given)
                    : parse.GetValue(noBandwidth) ? Bandwidth.None
                    : MemoryBandwidth.Measure(bufferBytes, threadCount);
                rows = [.. rows.Select(r => r with { Bound = r.Bound.At(measured, r.DecodeTokensPerSecond, r.DecodeSlowest, r.DecodeFastest) })];
                await output.WriteLineAsync(measured.Describe());
                var turns = decoders.Count > 1 ? ", the models taking turns run by run in this process" : "";
                await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"decode: median (slowest-fastest) of {settings.Runs} runs of {settings.DecodeSteps} greedy steps per row{turns}"));
                await output.WriteLineAsync(DecodeBench.Table(rows, settings));
                await output.WriteLineAsync(Machine.DescribePeak(peak));
                if (jsonPath is not null)
                    await File.WriteAllTextAsync(jsonPath, JsonSerializer.Serialize(
                        new { settings, bandwidth = measured, peak_working_set_bytes = peak, rows }, JsonOptions), cancellationToken);
                if (chartPath is not null)
                    await File.WriteAllTextAsync(chartPath, DecodeBench.DecodeChart(rows, measured, decoders[0].Model.Provider.Name, threadCount), cancellationToken);
                return 0;
            }
            finally
            {
                foreach (var (_, model) in decoders) model.Dispose();
            }
        });
        return command;
    }

    /// <summary>The speculative comparison: the first --model is the target; every mode runs the same prompts.</summary>
    private static async Task<int> RunSpeculative(string[] models, string? catalog, Export.ExportPrecision precision, Func<ResolvedModel, SessionSettings> session,
        string? draftName, Export.ExportPrecision? draftPrecision,
        string[] promptFiles, SpeculativeBenchSettings settings, string? json, string? chart, string? tracePath, TextWriter output, TextWriter error,
        CancellationToken cancellationToken)
    {
        if (promptFiles.Length == 0) throw new ArgumentException("--speculative needs --prompt-file FILE (text to cut real prompts from).");
        var resolved = ModelResolver.Resolve(models[0], catalog, precision, error);
        var targetSettings = session(resolved);
        using var target = DecoderModel.Load(resolved.ExportDir, targetSettings);
        var modes = settings.Modes.Select(m => BenchMode.Parse(m).Mode).ToHashSet();
        var selfModes = modes.Contains("self") || modes.Contains("tree-self");
        var draftModes = modes.Contains("draft") || modes.Contains("tree-draft");
        SpeculativeSetup.CheckDraftPrecision(draftPrecision, selfModes || draftModes, $"the modes {string.Join(",", settings.Modes)}");
        var loaded = new List<IDisposable>();
        using var unload = new Disposables(loaded);
        // each pair's drafter and calibration, by drafter (as generate resolves them), the calibration sizing its trees and
        // starting its adaptive chains; only the trees note a missing one
        var calibrations = new Dictionary<string, TreeCalibration?>();
        DecoderModel? draft = null, selfDrafter = null;
        if (draftModes && (draftName ?? resolved.Entry?.Draft) is { } name)
        {
            (draft, var key) = SpeculativeSetup.ResolveDrafter(name, settings.Sinks, settings.Window, catalog, precision, resolved, error, loaded, targetSettings,
                draftPrecision);
            calibrations["draft"] = Calibration(resolved.ExportDir, key, modes.Contains("tree-draft"), error);
        }
        if (selfModes)
        {
            (selfDrafter, var key) = SpeculativeSetup.ResolveDrafter(null, settings.Sinks, settings.Window, catalog, precision, resolved, error, loaded,
                targetSettings, draftPrecision);
            calibrations["self"] = Calibration(resolved.ExportDir, key, modes.Contains("tree-self"), error);
        }
        var tokenizer = resolved.LoadTokenizer();
        var text = string.Join("\n", promptFiles.Select(f => TextFiles.ReadUtf8(f, "--prompt-file")));
        using var traceFile = tracePath is null ? null : new StreamWriter(tracePath);
        // --json holds the rows measured so far ("complete": false; a cell's finished modes included) until the grid ends,
        // and --chart draws them (after the last cell, the whole grid): a run stopped part way (a device call's time limit)
        // keeps both
        void KeepRows(IReadOnlyList<SpeculativeBenchRow> sofar)
        {
            if (json is not null) File.WriteAllText(json, JsonSerializer.Serialize(new { settings, complete = false, rows = sofar }, JsonOptions));
            if (chart is not null) File.WriteAllText(chart, SpeculativeBench.Chart(sofar, target.Provider.Name));
        }
        var rows = SpeculativeBench.Measure(target, draft, selfDrafter,
            tokenizer, text, settings, calibrations, error, cancellationToken,
            traceFile is null ? null : line => traceFile.WriteLine(JsonSerializer.Serialize(line, TraceOptions)), KeepRows);
        var peak = Machine.PeakWorkingSet();
        if (settings.DocumentsPerRow > 1)
            await output.WriteLineAsync($"continuous batching: each row took {settings.DocumentsPerRow} prompts in turn, a finished row refilled " +
                "between passes (prefill time is not decode time)");
        await output.WriteLineAsync(SpeculativeBench.Table(rows));
        foreach (var line in PlannerVsPinned.Lines(rows)) await output.WriteLineAsync(line);
        await output.WriteLineAsync(Machine.DescribePeak(peak));
        if (json is not null)
            await File.WriteAllTextAsync(json, JsonSerializer.Serialize(new { settings, complete = true, peak_working_set_bytes = peak, rows }, JsonOptions),
                cancellationToken);
        return rows.All(r => r.SameTokensAsPlain) ? 0 : 2;
    }

    /// <summary>A pair's calibration (condensa calibrate), or null, with a note where <paramref name="trees"/> are measured and
    /// will be sized from the default prior instead.</summary>
    private static TreeCalibration? Calibration(string exportDir, string key, bool trees, TextWriter log)
    {
        var calibration = TreeCalibration.Load(exportDir, key);
        if (calibration is null && trees) log.WriteLine($"note: no {TreeCalibration.FileName(key)}; trees sized from the default prior.");
        return calibration;
    }

    // Named literals: a mode without drafts has no acceptance rate (NaN), which plain JSON numbers cannot say.
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    // --trace's lines: one JSON object a line, in the --json file's naming.
    private static readonly JsonSerializerOptions TraceOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    // Each model's rows from one child process per model and round (ProcessRotation.Order), then per row the median of the
    // rounds' decode and prefill figures with the slowest and fastest decode round.
    private static async Task<List<DecodeBenchRow>> MeasureRotated(string[] models, DecodeBenchSettings settings, string[] args, CancellationToken cancellationToken)
    {
        var samples = new Dictionary<(string Model, int Index), List<DecodeBenchRow>>();
        var folder = Directory.CreateTempSubdirectory("condensa-bench-");
        try
        {
            foreach (var (round, model) in ProcessRotation.Order(models, settings.Runs))
            {
                var json = Path.Combine(folder.FullName, $"{round}-{Array.IndexOf(models, model)}.json");
                var text = await ProcessRotation.RunChild(ProcessRotation.ChildArguments(args, model, json), cancellationToken);
                var rows = JsonSerializer.Deserialize<ChildResult>(text, JsonOptions)!.Rows;
                for (var i = 0; i < rows.Count; i++)
                {
                    if (!samples.TryGetValue((model, i), out var list)) samples[(model, i)] = list = [];
                    list.Add(rows[i] with { Model = model });
                }
            }
        }
        finally
        {
            folder.Delete(recursive: true);
        }
        // rows in the one-process order: per (batch, context) every model's row
        return [.. samples.OrderBy(s => s.Key.Index).ThenBy(s => Array.IndexOf(models, s.Key.Model)).Select(s =>
        {
            var decode = s.Value.Select(r => r.DecodeTokensPerSecond).ToList();
            return s.Value[0] with
            {
                DecodeTokensPerSecond = Math.Round(DecodeBench.Median(decode), 1), DecodeSlowest = decode.Min(), DecodeFastest = decode.Max(),
                PrefillTokensPerSecond = Math.Round(DecodeBench.Median([.. s.Value.Select(r => r.PrefillTokensPerSecond)]), 1),
            };
        })];
    }

    private sealed record ChildResult(List<DecodeBenchRow> Rows);

    /// <summary>The folder of an output file must exist (and the path must not be a folder), checked before measuring.</summary>
    private static string? OutputFile(string? path, string option)
    {
        if (path is null) return null;
        if (Directory.Exists(path)) throw new ArgumentException($"{option} '{path}' is a folder; give a file name.");
        var folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is not null && !Directory.Exists(folder)) throw new ArgumentException($"{option} '{path}': folder '{folder}' does not exist.");
        // Open it now: a file that cannot be written (permissions, read-only file system) fails before minutes of measuring.
        var existed = File.Exists(path);
        try
        {
            using (new FileStream(path, FileMode.OpenOrCreate, FileAccess.Write)) { }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"{option} '{path}' cannot be written: {e.Message}");
        }
        if (!existed) File.Delete(path);
        return path;
    }

    private static int[] ParseList(string text, string option)
    {
        var items = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var values = new int[items.Length];
        for (var i = 0; i < items.Length; i++)
            if (!int.TryParse(items[i], NumberStyles.None, CultureInfo.InvariantCulture, out values[i]) || values[i] < 1)
                throw new ArgumentException($"{option} '{text}': '{items[i]}' is not a positive integer.");
        if (values.Length == 0) throw new ArgumentException($"{option} '{text}' lists no values.");
        return values;
    }

    private static long Positive(long value, string option) =>
        value >= 1 ? value : throw new ArgumentException($"{option} {value} must be at least 1.");
}
