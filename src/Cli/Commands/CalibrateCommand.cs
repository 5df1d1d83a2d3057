using System.CommandLine;
using Condensa.Runtime;
using Condensa.Runtime.Generation;
using Condensa.Runtime.Sampling;
using Condensa.Speculative;
using Condensa.Speculative.Trees;
using Condensa.Tokenization;

namespace Condensa.Cli.Commands;

/// <summary>
/// <c>condensa calibrate</c>: measures what tree speculation needs to size its trees for a target + drafter pair on
/// this machine (the acceptance vector on held-out prompts, and target and draft step times over batch, tokens and
/// context) and saves it beside the target's export, where <c>generate --speculative tree</c> finds it.
/// </summary>
internal static class CalibrateCommand
{
    // Held-out prompts when none are given: short Python openings, the demo models' domain; any text works.
    private static readonly string[] DefaultPrompts =
    [
        "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n",
        "import os\n\n\ndef list_files(folder):\n",
        "class Stack:\n    def __init__(self):\n",
        "def binary_search(items, target):\n    lo, hi = 0, len(items) - 1\n",
        "def read_json(path):\n    with open(path) as f:\n",
        "def merge_sort(values):\n    if len(values) <= 1:\n",
    ];

    public static Command Create()
    {
        var modelOptions = new ModelOptions();
        var draftModel = new Option<string?>("--draft") { Description = "Draft model (default: self-speculation over the --sinks/--window budget)" };
        var sinks = new Option<int>("--sinks") { Description = "Attention-sink tokens of the self-speculation budget", DefaultValueFactory = _ => 16 }.AtLeast(0);
        var window = new Option<int>("--window") { Description = SpeculationCommandOptions.WindowDescription, DefaultValueFactory = _ => 256 }.AtLeast(1);
        var draftPrecision = CommonOptions.DraftPrecision();
        var prompts = new Option<string[]>("--prompts") { Description = "Text files, one held-out prompt each (default: built-in code prompts)" };
        var tokens = new Option<int>("--tokens")
        {
            Description = "Tokens generated after each prompt and measured (self-speculation: more where they would not reach 256 tokens past the budget)",
            DefaultValueFactory = _ => 64,
        }.AtLeast(1);
        var temperature = new Option<float>("--temperature") { Description = "Sampling temperature to calibrate for; 0 = greedy" }.AtLeast(0);
        var children = new Option<int>("--max-children") { Description = "Length of the acceptance vector", DefaultValueFactory = _ => 8 }.AtLeast(1);
        var batches = new Option<string>("--batch") { Description = "Batch sizes to time, comma-separated", DefaultValueFactory = _ => "1,4" };
        var contexts = new Option<string>("--context") { Description = "Contexts to time, comma-separated", DefaultValueFactory = _ => "128,1024" };
        var sizes = new Option<string>("--pass-tokens") { Description = "Tokens per timed pass, comma-separated", DefaultValueFactory = _ => "1,4,16,64" };
        var repeats = new Option<int>("--repeats") { Description = "Timed passes per point (the median is kept)", DefaultValueFactory = _ => 3 }.AtLeast(1);

        var command = new Command("calibrate", "Measure acceptance and step times of a speculation pair (they size its trees and start its adaptive chains); saved beside the model's export")
        {
            draftModel, sinks, window, draftPrecision, prompts, tokens, temperature, children, batches, contexts, sizes, repeats,
        };
        modelOptions.AddTo(command);
        command.SetGuardedAction(async (parse, output, error, cancellationToken) =>
        {
            var resolved = modelOptions.Resolve(parse, error);
            var session = modelOptions.Settings(parse, resolved);
            using var target = DecoderModel.Load(resolved.ExportDir, session);
            var tokenizer = resolved.LoadTokenizer();
            var loaded = new List<IDisposable>();
            try
            {
                var (sinkCount, windowSize) = (parse.GetValue(sinks), parse.GetValue(window));
                var (draft, key) = SpeculativeSetup.ResolveDrafter(parse.GetValue(draftModel), sinkCount, windowSize, parse.GetValue(modelOptions.Catalog),
                    parse.GetValue(modelOptions.Precision), resolved, error, loaded, session, parse.GetValue(draftPrecision));
                // self-speculation: the target, or its checkpoint at --draft-precision (draft), drafts over the budget
                var self = parse.GetValue(draftModel) is null;
                var drafter = draft ?? (IDecoder)target;
                var budget = Speculation.SelfBudget(new SpeculationOptions { Mode = SpeculationMode.Self, Tree = true, Sinks = sinkCount, Window = windowSize });
                var sampling = new SamplingOptions { Temperature = parse.GetValue(temperature), Seed = 7 };

                // 1) held-out sequences: each prompt and the target's own continuation of it
                var texts = parse.GetValue(prompts) is { Length: > 0 } files ? files.Select(f => TextFiles.ReadUtf8(f, "--prompts file")).ToArray() : DefaultPrompts;
                var encoded = texts.Select(text => tokenizer.Encode(text, addBos: true)).ToArray();
                var continuationTokens = self
                    ? SelfContinuationTokens(parse.GetValue(tokens), encoded.Sum(ids => ids.Count), encoded.Length, budget.Slots)
                    : parse.GetValue(tokens);
                var sequences = new List<int[]>();
                var starts = new List<int>();
                foreach (var ids in encoded)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var generation = new GenerationOptions
                    {
                        MaxNewTokens = Math.Max(1, Math.Min(continuationTokens, target.Manifest.MaxContext - ids.Count)), Sampling = sampling,
                    };
                    var continuation = new Generator(target).GenerateBatch([ids], generation)[0].Tokens;
                    sequences.Add([.. ids, .. continuation]);
                    starts.Add(ids.Count);
                }

                // Self-speculation's draft is the target itself while a sequence fits its sink + window budget, and would accept
                // every draft there (round 14 on cuda: 1.000 over the short default prompts): its acceptance is measured past the
                // budget, over the held-out sequences run together.
                if (self) (sequences, starts) = PastTheBudget(sequences, budget.Slots, target.Manifest.MaxContext);

                // 2) the acceptance vector: which ranked draft child verification accepts, position by position
                var (acceptance, positions) = TreeCalibrator.MeasureAcceptance(target, drafter,
                    () => self ? drafter.CreateCache(1, new KvCacheOptions { Budget = budget }) : drafter.CreateCache(1), sequences, starts, sampling,
                    parse.GetValue(children));

                // 3) step times of both models over the grid, fitted to the step-time model
                var maxContext = target.Manifest.MaxContext - 64;   // room for the timed passes
                var contextGrid = ParseList(parse.GetValue(contexts)!, "--context").Select(c => Math.Min(c, maxContext)).Distinct().ToArray();
                var batchGrid = ParseList(parse.GetValue(batches)!, "--batch");
                var tokenGrid = ParseList(parse.GetValue(sizes)!, "--pass-tokens");
                var runs = Math.Max(1, parse.GetValue(repeats));
                var targetSamples = TreeCalibrator.MeasureStepTimes(target, b => target.CreateCache(b), batchGrid, contextGrid, tokenGrid, runs);
                var plainSamples = TreeCalibrator.MeasurePlainStepTimes(target, b => target.CreateCache(b), batchGrid, contextGrid, runs);
                Func<int, KvCache> draftCache = self ? b => drafter.CreateCache(b, new KvCacheOptions { Budget = budget }) : b => drafter.CreateCache(b);
                int? draftLimit = self ? budget.Slots : null;
                var draftSamples = TreeCalibrator.MeasureStepTimes(drafter, draftCache, batchGrid, contextGrid, tokenGrid, runs, draftLimit);
                // chains draft a token a pass and verify without a tree mask: on cuda other graphs than a tree's (round 32)
                var chainTargetSamples = TreeCalibrator.MeasureChainStepTimes(target, b => target.CreateCache(b), batchGrid, contextGrid, tokenGrid, runs);
                // a self drafter's chain step over its own whole cache, at the budget's slots and past them: what a wider window's
                // budget would cost a draft step (Speculation.SelfWindow), where over the budget every context costs the same
                int[] chainDraftContexts = self ? [budget.Slots, .. contextGrid.Where(c => c > budget.Slots)] : contextGrid;
                var chainDraftSamples = TreeCalibrator.MeasurePlainStepTimes(drafter, b => drafter.CreateCache(b), batchGrid, chainDraftContexts, runs,
                    greedy: sampling.Temperature == 0);
                var calibration = new TreeCalibration
                {
                    Drafter = key,
                    Acceptance = acceptance,
                    Target = StepTimeModel.Fit(targetSamples),
                    Draft = StepTimeModel.Fit(draftSamples),
                    Plain = StepTimeModel.Fit(plainSamples),
                    ChainTarget = StepTimeModel.Fit(chainTargetSamples),
                    ChainDraft = StepTimeModel.Fit(chainDraftSamples),
                    DraftContextLimit = self ? budget.Slots : null,
                    Temperature = sampling.Temperature,
                    Positions = positions,
                    TargetSamples = [.. targetSamples],
                    DraftSamples = [.. draftSamples],
                    PlainSamples = [.. plainSamples],
                    ChainTargetSamples = [.. chainTargetSamples],
                    ChainDraftSamples = [.. chainDraftSamples],
                };
                var path = calibration.Save(resolved.ExportDir);
                SpeculationOptions? selfOptions = self ? new() { Mode = SpeculationMode.Self, Sinks = sinkCount, Window = windowSize, Calibration = calibration } : null;
                await Report(output, calibration, path, batchGrid, contextGrid, selfOptions);
                return 0;
            }
            finally
            {
                foreach (var d in loaded) d.Dispose();
            }
        });
        return command;
    }

    private static async Task Report(TextWriter output, TreeCalibration calibration, string path, int[] batches, int[] contexts,
        SpeculationOptions? self)
    {
        await output.WriteLineAsync($"acceptance ({calibration.Positions} positions): {string.Join(' ', calibration.Acceptance.Select(a => a.ToString("F3")))}");
        await output.WriteLineAsync($"target pass: {Describe(calibration.Target)}");
        await output.WriteLineAsync($"draft pass:  {Describe(calibration.Draft)}");
        if (calibration.Plain is { } plain) await output.WriteLineAsync($"plain step:  {Describe(plain)}");
        if (calibration.ChainTarget is { } chainTarget) await output.WriteLineAsync($"chain verification: {Describe(chainTarget)}");
        if (calibration.ChainDraft is { } chainDraft) await output.WriteLineAsync($"chain draft step:   {Describe(chainDraft)}");
        var planner = new TreePlanner(calibration, maxNodes: Speculation.DefaultMaxTreeNodes);
        foreach (var batch in batches)
        foreach (var context in contexts)
        {
            var (nodes, depth) = planner.Best(batch, context);
            await output.WriteLineAsync($"batch {batch}, context {context}: tree of {nodes} nodes, depth {depth}, " +
                $"{planner.Builder.ExpectedTokens(nodes, depth):F2} expected tokens/round");
        }
        // the window self-speculation's chains take at each batch with this calibration (Speculation.SelfWindow)
        if (self is not null)
            foreach (var batch in batches)
                await output.WriteLineAsync($"batch {batch}: self-speculation's window {Speculation.SelfWindow(self, batch)} (--window {self.Window}, up to " +
                    $"{Speculation.DefaultMaxWindow} where a draft step reads it within {Speculation.WindowCostShare:P0} more)");
        await output.WriteLineAsync($"saved {path}");
    }

    /// <summary>Positions self-speculation's acceptance is measured over at least, past its budget, where the model's context allows.</summary>
    internal const int MinPositionsPastBudget = 256;

    /// <summary>Tokens to generate after each of <paramref name="prompts"/> prompts (<paramref name="promptTokens"/> tokens in all) for
    /// self-speculation: <paramref name="requested"/>, or more where the prompts and their continuations would not run
    /// <see cref="MinPositionsPastBudget"/> tokens past the budget (the default prompts with 64 tokens each come to ~500
    /// tokens; a 256-token window's budget with its slack is 593).</summary>
    internal static int SelfContinuationTokens(int requested, int promptTokens, int prompts, int budgetSlots)
    {
        var missing = budgetSlots + 1 + MinPositionsPastBudget - promptTokens;
        return Math.Max(requested, (missing + prompts - 1) / prompts);
    }

    /// <summary>The sequences as one (up to the model's context), its positions counted from <paramref name="budgetSlots"/> on:
    /// where a sink + window draft no longer sees everything the target does.</summary>
    private static (List<int[]> Sequences, List<int> Starts) PastTheBudget(List<int[]> sequences, int budgetSlots, int maxContext)
    {
        int[] joined = [.. sequences.SelectMany(s => s).Take(maxContext)];
        if (joined.Length <= budgetSlots + 1)
            throw new CondensaException($"Self-speculation's acceptance is measured past its sink + window budget ({budgetSlots} tokens), but the " +
                $"held-out text is {joined.Length} tokens with its continuations (the model's context: {maxContext}): give longer --prompts files, more " +
                "--tokens or a smaller --window.");
        return ([joined], [budgetSlots]);
    }

    private static string Describe(StepTimeModel m) =>
        $"{m.Fixed * 1e3:F3} ms + {m.PerToken * 1e6:F2} us/token + {m.PerContext * 1e9:F1} ns/slot + {m.PerTokenContext * 1e9:F3} ns/(token·slot) (per row)";

    private static int[] ParseList(string value, string option)
    {
        var parts = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var list = new int[parts.Length];
        for (var i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], out list[i]) || list[i] < 1)
                throw new ArgumentException($"{option} '{value}' must be a comma-separated list of positive integers.");
        return list.Length > 0 ? list : throw new ArgumentException($"{option} is empty.");
    }
}
