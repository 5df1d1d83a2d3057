using System.Diagnostics;
using Condensa.Runtime;
using Condensa.Runtime.Batching;
using Condensa.Runtime.Generation;
using Condensa.Speculative;
using Condensa.Speculative.Trees;
using Condensa.Tokenization;

namespace Condensa.Cli.Bench;

/// <summary>What a speculative benchmark runs: drafting modes against plain decoding on real prompts.</summary>
/// <param name="DocumentsPerRow">Prompts each row of the batch takes in turn: 1 is a static batch, whose rows that finish
/// first idle until the slowest ends; more keeps the batch full as a batch job or a server does (continuous batching, a
/// finished row refilled between passes), the rows draining only at the end.</param>
internal sealed record SpeculativeBenchSettings(string[] Modes, int[] Batches, int[] PromptTokens, int NewTokens, int Runs, int? Gamma,
    int Sinks, int Window, int? TreeSize = null, int? TreeDepth = null, int DocumentsPerRow = 1, string? DraftPrecision = null, int? MaxWindow = null);

/// <summary>One line of <c>bench --trace</c>: a speculative round of a mode's run at a batch and prompt length (run 0 warms up).</summary>
internal sealed record SpeculativeTraceLine(string Mode, int Batch, int PromptTokens, int Run, int Round, SpeculativeRound Measured);

/// <summary>One row: a mode at a batch size and prompt length, medians over the runs.</summary>
/// <param name="DraftedPerRound">Mean drafts per row-round: the γ chains used, the nodes trees held.</param>
/// <param name="Plan">What the planner chose here: a tree's (nodes, depth) at this batch and context, "γ N", or for an adaptive
/// chain the γ its rounds took with their shares ("γ auto: 3 81 %, 0 19 %"; 0 is a plain pass).</param>
/// <param name="RowsPerRound">Mean rows a round served: with the per-round times and accepted drafts, what a round yields.</param>
/// <param name="Differs">Where the tokens left plain decoding's (the first run that did), or null where every run gave them.</param>
/// <param name="RowMoves">Documents the decode loop moved into lower rows as others finished (a run's, the median).</param>
/// <param name="MsOutsideRounds">Decode milliseconds a run spent outside its rounds' drafting and verifying: the row moves,
/// the loop's own work (the median; NaN for plain decoding, which has no rounds).</param>
/// <param name="GraphsCaptured">CUDA graphs the target and draft captured during a run (the median; 0 without capture):
/// passes of shapes the run met first.</param>
/// <param name="NewPassShapes">Pass shapes the target and draft ran for the first time in the process during a run (the
/// median; <see cref="DecoderModel.PassShapes"/>): each paid its first-use cost in the measured time.</param>
/// <param name="PrefillSeconds">Seconds a run spent prefilling its prompts (the median): with <paramref name="RunSeconds"/>,
/// where a long-context cell's time goes besides decoding.</param>
/// <param name="RunSeconds">Seconds of a whole run, prefill and decoding (the median; the warm-up runs one document a row).</param>
internal sealed record SpeculativeBenchRow(string Mode, int Batch, int PromptTokens, double DecodeTokensPerSecond, double Speedup,
    double AcceptanceRate, double AcceptedPerRound, double DraftedPerRound, string Plan, double DraftMsPerRound, double VerifyMsPerRound,
    double RowsPerRound, TokenDivergence? Differs = null, double RowMoves = 0, double MsOutsideRounds = double.NaN, double GraphsCaptured = 0,
    double NewPassShapes = 0, double PrefillSeconds = double.NaN, double RunSeconds = double.NaN)
{
    /// <summary>Whether every run gave plain decoding's tokens.</summary>
    public bool SameTokensAsPlain => Differs is null;
}

/// <summary>
/// Greedy generation of the same batch of real prompts with plain decoding and with each drafter, measured
/// round-robin in one process (run 1 of every mode, then run 2, ...), so drift and neighbours hit all modes alike; a
/// static batch, or rows refilled from more prompts (<see cref="SpeculativeBenchSettings.DocumentsPerRow"/>).
/// Decode tokens/s counts the tokens after each document's first (which the prefill produces) over the decode time.
/// Every mode must reproduce plain decoding's tokens; the row says whether it did.
/// </summary>
internal static class SpeculativeBench
{
    /// <summary>Measures every mode; <paramref name="trace"/>, when given, receives each round of each run (timed runs and
    /// the warm-up) as it finishes, and <paramref name="measured"/> the rows so far each time a mode's last run finishes
    /// (once plain decoding's has, whose tokens every row is held to), so a grid cut short (a device call's time limit)
    /// keeps the modes it finished, part of a cell included. The warm-up runs one document a row: it meets the runs' pass
    /// shapes without prefilling every document of a full batch twice. <paramref name="selfDrafter"/>, when given, runs the
    /// self modes' drafts (the target's checkpoint at <see cref="SpeculativeBenchSettings.DraftPrecision"/>); <paramref name="draft"/>
    /// is the draft model, exported at that precision where one is given.</summary>
    public static IReadOnlyList<SpeculativeBenchRow> Measure(DecoderModel target, DecoderModel? draft, DecoderModel? selfDrafter, CheckpointTokenizer tokenizer,
        string promptText, SpeculativeBenchSettings settings, IReadOnlyDictionary<string, TreeCalibration?> calibrations, TextWriter log,
        CancellationToken cancellationToken, Action<SpeculativeTraceLine>? trace = null,
        Action<IReadOnlyList<SpeculativeBenchRow>>? measured = null)
    {
        var corpus = tokenizer.Encode(promptText, addBos: false);
        var rows = new List<SpeculativeBenchRow>();
        foreach (var promptTokens in settings.PromptTokens)
        foreach (var batch in settings.Batches)
        {
            var prompts = Prompts(corpus, tokenizer.BosTokenId, batch * settings.DocumentsPerRow, promptTokens, target.Manifest.MaxContext - settings.NewTokens);
            var options = new GenerationOptions { MaxNewTokens = settings.NewTokens };   // no stop tokens: every run decodes the same length
            var cell = new Cell(target, prompts, batch, settings, calibrations);
            for (var run = 0; run <= settings.Runs; run++)        // run 0 warms up
                foreach (var mode in settings.Modes)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var sample = RunOnce(mode, target, draft, selfDrafter, run == 0 ? prompts[..batch] : prompts, batch, options, settings,
                        Calibration(calibrations, mode), trace is not null, cancellationToken);
                    if (trace is not null && sample.Rounds is { } rounds)
                        for (var i = 0; i < rounds.Count; i++) trace(new SpeculativeTraceLine(mode, batch, prompts[0].Length, run, i, rounds[i]));
                    if (run == 0) continue;
                    cell.Add(mode, sample);
                    if (run < settings.Runs) continue;
                    log.WriteLine($"measured {mode} at prompt {promptTokens} x batch {batch}");
                    if (cell.Rows(final: false) is { Count: > 0 } finished) measured?.Invoke([.. rows, .. finished]);
                }
            var cellRows = cell.Rows(final: true);
            foreach (var row in cellRows)
                if (row.Differs is { } divergence) log.WriteLine($"{row.Mode} at batch {batch} x {promptTokens}: {divergence}");
            rows.AddRange(cellRows);
            log.WriteLine($"measured prompt {promptTokens} x batch {batch}; CUDA graphs so far: " +
                Graphs(("target", target), ("draft model", draft), ("self drafter", selfDrafter)));
            measured?.Invoke(rows);
        }
        return rows;
    }

    // The graphs each model has captured in the process, and where one reached the cap past which its new pass shapes run
    // uncaptured (DecoderModel.CapturedGraphsAtCap): a grid's later cells then time passes a shorter run would have replayed.
    private static string Graphs(params (string Name, DecoderModel? Model)[] models) =>
        string.Join(", ", models.Where(m => m.Model is not null)
            .Select(m => $"{m.Name} {m.Model!.CapturedGraphs}" + (m.Model.CapturedGraphsAtCap ? " (at the cap: new shapes run uncaptured)" : "")));

    /// <summary>A (batch, context) cell's samples by mode, and each mode's row, made once its runs and plain decoding's are
    /// in (its tie margins run the model).</summary>
    private sealed class Cell(DecoderModel target, int[][] prompts, int batch, SpeculativeBenchSettings settings,
        IReadOnlyDictionary<string, TreeCalibration?> calibrations)
    {
        private readonly Dictionary<string, List<Sample>> _samples = settings.Modes.ToDictionary(m => m, _ => new List<Sample>());
        private readonly Dictionary<string, SpeculativeBenchRow> _rows = [];

        public void Add(string mode, Sample sample) => _samples[mode].Add(sample);

        /// <summary>The rows of the modes whose runs are all in, in the settings' order; before the last (not
        /// <paramref name="final"/>), none until plain decoding's runs are in.</summary>
        public IReadOnlyList<SpeculativeBenchRow> Rows(bool final)
        {
            bool Done(string mode) => _samples[mode].Count == settings.Runs;
            var hasPlain = _samples.ContainsKey("none");
            if (!final && hasPlain && !Done("none")) return [];
            var plainTokens = hasPlain ? _samples["none"][0].Tokens : null;
            var plainRate = hasPlain ? Median(_samples["none"], s => s.DecodeTokensPerSecond) : double.NaN;
            foreach (var mode in settings.Modes.Where(m => Done(m) && !_rows.ContainsKey(m)))
                _rows[mode] = Row(mode, _samples[mode], plainTokens, plainRate);
            return settings.Modes.Where(_rows.ContainsKey).Select(m => _rows[m]).ToList();
        }

        private SpeculativeBenchRow Row(string mode, List<Sample> s, IReadOnlyList<IReadOnlyList<int>>? plainTokens, double plainRate)
        {
            var differing = plainTokens is null ? null : s.FirstOrDefault(x => Divergence(x.Tokens, plainTokens) is not null);
            var divergence = differing is null ? null
                : WithMargins(Divergence(differing.Tokens, plainTokens!)!, TieMargins(target, prompts, differing.Tokens, plainTokens!),
                    target.Manifest.KvType);
            var rate = Median(s, x => x.DecodeTokensPerSecond);
            var calibration = Calibration(calibrations, mode);
            return new SpeculativeBenchRow(mode, batch, prompts[0].Length, rate, rate / plainRate, Median(s, x => x.Acceptance),
                Median(s, x => x.AcceptedPerRound), Median(s, x => x.DraftedPerRound), Plan(mode, settings, calibration, batch,
                prompts[0].Length, s.FirstOrDefault()?.Choices), Median(s, x => x.DraftMs), Median(s, x => x.VerifyMs),
                Median(s, x => x.RowsPerRound), divergence, Median(s, x => x.RowMoves), Median(s, x => x.MsOutsideRounds),
                Median(s, x => x.GraphsCaptured), Median(s, x => x.NewPassShapes), Median(s, x => x.PrefillSeconds),
                Median(s, x => x.RunSeconds));
        }
    }

    /// <summary>The planner's choice for a mode at a batch and context, as the bench prints it.</summary>
    private static string Plan(string mode, SpeculativeBenchSettings settings, TreeCalibration? calibration, int batch, int context,
        IReadOnlyDictionary<int, int>? choices)
    {
        var options = Speculation.ForBatch(Options(mode, settings) with { Calibration = calibration }, batch);
        if (options.Mode == SpeculationMode.None) return "-";
        var window = options.Window != settings.Window ? $", window {options.Window}" : "";   // widened for this batch
        if (Speculation.Planner(options) is not TreePlanner tree)
            return (options.Gamma is { } g ? $"γ {g}" : choices is { Count: > 0 } ? $"γ auto: {Choices(choices)}" : "γ auto") + window;
        var (nodes, depth) = tree.Best(batch, context);
        // an unpinned planner's rounds follow what they measure (TreePlanner.Observe): the drafts they took beside the
        // calibration's choice
        var taken = options.TreeSize is null && choices is { Count: > 0 } ? $", drafts a round: {Choices(choices)}" : "";
        return $"tree {nodes} × {depth}{taken}{window}";
    }

    /// <summary>The γ an adaptive chain's rounds took, the three most taken first, with their shares of the rounds (those
    /// under 5 % left out; "…" where more were): "3 81 %, 0 19 %".</summary>
    internal static string Choices(IReadOnlyDictionary<int, int> roundsByGamma)
    {
        var total = (double)roundsByGamma.Values.Sum();
        var shown = roundsByGamma.Where(c => c.Value / total >= 0.05).OrderByDescending(c => c.Value).ThenBy(c => c.Key).ToList();
        return string.Join(", ", shown.Take(3).Select(c => $"{c.Key} {Math.Round(100 * c.Value / total):F0} %")) + (shown.Count > 3 ? ", …" : "");
    }

    private sealed record Sample(double DecodeTokensPerSecond, double Acceptance, double AcceptedPerRound, double DraftedPerRound, double RowsPerRound,
        double DraftMs, double VerifyMs,
        IReadOnlyList<IReadOnlyList<int>> Tokens, IReadOnlyList<SpeculativeRound>? Rounds = null, IReadOnlyDictionary<int, int>? Choices = null)
    {
        public double RowMoves { get; init; }
        public double MsOutsideRounds { get; init; } = double.NaN;
        public double GraphsCaptured { get; init; }
        public double NewPassShapes { get; init; }
        public double PrefillSeconds { get; init; } = double.NaN;
        public double RunSeconds { get; init; } = double.NaN;
    }

    private static Sample RunOnce(string mode, DecoderModel target, DecoderModel? draftModel, DecoderModel? selfDrafter, int[][] prompts, int batch,
        GenerationOptions options, SpeculativeBenchSettings settings, TreeCalibration? calibration, bool traced, CancellationToken cancellationToken)
    {
        var speculation = Options(mode, settings) with { Calibration = calibration };
        var spec = speculation.Mode == SpeculationMode.None ? null : new SpeculativeStats { Trace = traced ? [] : null };
        var stats = spec?.Generation ?? new GenerationStats();
        var draft = speculation.Mode switch { SpeculationMode.Draft => draftModel, SpeculationMode.Self => selfDrafter, _ => null };
        var step = Speculation.CreateStep(target, speculation, batch, options.Sampling, draft, spec);
        var capturedBefore = target.CapturedGraphs + (draft?.CapturedGraphs ?? 0);
        var shapesBefore = target.PassShapes + (draft?.PassShapes ?? 0);
        try
        {
            var started = Stopwatch.GetTimestamp();
            var results = Generate(target, step, prompts, batch, options, stats, cancellationToken);
            var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            var rate = DecodeRate(stats, prompts.Length);
            var captured = target.CapturedGraphs + (draft?.CapturedGraphs ?? 0) - capturedBefore;
            var shapes = target.PassShapes + (draft?.PassShapes ?? 0) - shapesBefore;
            var sample = spec is null
                ? new Sample(rate, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, results)
                : new Sample(rate, spec.AcceptanceRate, spec.MeanAcceptedPerRound, spec.MeanProposedPerRound, spec.MeanRowsPerRound, spec.DraftMillisecondsPerRound,
                    spec.VerifyMillisecondsPerRound, results, spec.Trace, spec.RoundsByPlannedDrafts)
                    { MsOutsideRounds = (stats.DecodeTime - spec.DraftTime - spec.VerifyTime).TotalMilliseconds };
            return sample with
            {
                RowMoves = stats.RowMoves, GraphsCaptured = captured, NewPassShapes = shapes,
                PrefillSeconds = stats.PrefillTime.TotalSeconds, RunSeconds = seconds,
            };
        }
        finally
        {
            (step as IDisposable)?.Dispose();
        }
    }

    /// <summary>Each prompt's tokens, in prompt order: one row per prompt (a static batch) or, with more prompts than rows, the
    /// rows refilled from the prompts in order as documents finish. Cancellation stops it between passes, so a stopped
    /// bench ends within a pass, not a whole run.</summary>
    private static IReadOnlyList<IReadOnlyList<int>> Generate(DecoderModel target, IDecodeStep step, int[][] prompts, int batch,
        GenerationOptions options, GenerationStats stats, CancellationToken cancellationToken)
    {
        if (prompts.Length == batch)
            return [.. new Generator(target, step).GenerateBatch(prompts, options, stats, cancellationToken).Select(r => r.Tokens)];
        var tokens = new IReadOnlyList<int>[prompts.Length];
        var requests = prompts.Select((p, i) => new BatchRequest(i, p));
        // no stop tokens: every document runs to its length limit, so reserving it at admission wastes no slot
        var batching = new BatchOptions { BatchSize = batch, Generation = options, ReserveMaxTokens = true };
        foreach (var result in new ContinuousBatcher(target, step).Run(requests, batching, stats, cancellationToken))
            tokens[result.Id] = result.Error is null ? result.Tokens : throw new CondensaException($"bench document {result.Id}: {result.Error}");
        return tokens;
    }

    /// <summary>A bench entry (a mode, "@N" pinning its γ or tree size) as the library's options.</summary>
    private static SpeculationOptions Options(string mode, SpeculativeBenchSettings settings) =>
        BenchMode.Parse(mode).Options(settings.Gamma, settings.Sinks, settings.Window, settings.TreeSize, settings.TreeDepth, settings.MaxWindow);

    // The calibrations are by drafter: self and tree-self (a pinned tree-self@9 too) read self-speculation's.
    private static TreeCalibration? Calibration(IReadOnlyDictionary<string, TreeCalibration?> calibrations, string mode) =>
        calibrations.GetValueOrDefault(BenchMode.Parse(mode).Drafter);

    /// <summary>Row r's prompt: BOS, then <paramref name="length"/> - 1 corpus tokens from a row-dependent offset (wrapping).</summary>
    private static int[][] Prompts(IReadOnlyList<int> corpus, int? bos, int batch, int length, int limit)
    {
        if (corpus.Count < 2) throw new CondensaException("--prompt-file holds too little text to cut prompts from.");
        if (length > limit) throw new CondensaException($"--context {length} + the new tokens exceed the model's context.");
        return [.. Enumerable.Range(0, batch).Select(r =>
        {
            var start = (int)((long)r * corpus.Count / Math.Max(batch, 1));
            var body = Enumerable.Range(0, length - (bos is null ? 0 : 1)).Select(i => corpus[(start + i) % corpus.Count]);
            return bos is { } b ? (int[])[b, .. body] : [.. body];
        })];
    }

    private static double DecodeRate(GenerationStats stats, int batch) =>
        stats.DecodeTime > TimeSpan.Zero ? (stats.GeneratedTokens - batch) / stats.DecodeTime.TotalSeconds : 0;

    private static double Median(List<Sample> samples, Func<Sample, double> value)
    {
        var sorted = samples.Select(value).Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted[sorted.Length / 2];
    }

    /// <summary>Where a run's tokens leave plain decoding's, or null where they do not: how many rows differ and the
    /// earliest new token at which one does (a row one side lacks differs from its first token).</summary>
    internal static TokenDivergence? Divergence(IReadOnlyList<IReadOnlyList<int>> run, IReadOnlyList<IReadOnlyList<int>> plain)
    {
        var (rows, first, firstRow) = (0, int.MaxValue, -1);
        for (var b = 0; b < Math.Max(run.Count, plain.Count); b++)
        {
            IReadOnlyList<int> x = b < run.Count ? run[b] : [], y = b < plain.Count ? plain[b] : [];
            var at = 0;
            while (at < x.Count && at < y.Count && x[at] == y[at]) at++;
            if (at == x.Count && at == y.Count) continue;
            rows++;
            if (at < first) (first, firstRow) = (at, b);
        }
        return rows == 0 ? null : new TokenDivergence(rows, plain.Count, first, firstRow);
    }

    /// <summary>
    /// For each row where <paramref name="run"/> and <paramref name="plain"/> differ at a token both have, how far apart the
    /// target's logits put the two tokens there: |logit(plain's) - logit(the run's)| after the prompt and plain decoding's
    /// tokens before it, in one batch-1 pass. Greedy speculation is exact but for the kernels: a verification of several
    /// tokens rounds otherwise than a decode step, and in float16 that flips a row where two tokens are all but tied (rounds
    /// 8-16 on cuda: 1-4 rows of 8-64, late, the same row and token in every mode). A tie shows as a margin near the
    /// precision's rounding; a wrong pass, as a wide one. Each margin comes with the larger logit's size, which sets the
    /// precision's step there (<see cref="WithMargins"/>).
    /// </summary>
    internal static TieMargin[] TieMargins(DecoderModel target, int[][] prompts, IReadOnlyList<IReadOnlyList<int>> run, IReadOnlyList<IReadOnlyList<int>> plain)
    {
        var margins = new List<TieMargin>();
        int[] one = [0];
        for (var b = 0; b < Math.Min(prompts.Length, Math.Min(run.Count, plain.Count)); b++)
        {
            var (x, y) = (run[b], plain[b]);
            var at = 0;
            while (at < x.Count && at < y.Count && x[at] == y[at]) at++;
            if (at == x.Count || at == y.Count) continue;   // equal, or one side ended first: no two tokens to weigh
            int[] prefix = [.. prompts[b], .. y.Take(at)];
            one[0] = prefix.Length;
            using var cache = target.CreateCache(1);
            var logits = target.Forward(cache, prefix, one, LogitsSelection.LastPerRow);
            margins.Add(new TieMargin(Math.Abs(logits[y[at]] - logits[x[at]]), Math.Max(Math.Abs(logits[y[at]]), Math.Abs(logits[x[at]]))));
        }
        return [.. margins];
    }

    /// <summary><paramref name="divergence"/> with its rows' margins, and, for a float16 or bfloat16 export
    /// (<paramref name="type"/>), each in steps of its logits.</summary>
    internal static TokenDivergence WithMargins(TokenDivergence divergence, TieMargin[] margins, KvDataType type)
    {
        var precision = LogitSpacing.Name(type);
        return divergence with
        {
            Margins = [.. margins.Select(m => m.Gap)],
            MarginSteps = precision is null ? null : [.. margins.Select(m => m.Gap / (LogitSpacing.Step(m.Magnitude, type) ?? double.NaN))],
            StepPrecision = precision,
        };
    }

    /// <summary>
    /// The rows as an SVG bar chart: per (batch, prompt), each mode's speedup over plain decoding (a dashed line at
    /// 1.0x), or its decode tok/s when "none" is not among the modes.
    /// </summary>
    public static string Chart(IReadOnlyList<SpeculativeBenchRow> rows, string provider)
    {
        var speedup = rows.Any(r => r.Mode == "none");
        static string F(double v, string format) => v.ToString(format, System.Globalization.CultureInfo.InvariantCulture);
        var groups = rows.GroupBy(r => $"batch {r.Batch}, prompt {r.PromptTokens}")
            .Select(g => new ChartGroup(g.Key, [.. g.Select(r => speedup
                ? new ChartBar(r.Mode, r.Speedup, $"{F(r.Speedup, "F2")}x", Note: r.SameTokensAsPlain ? null : "tokens differ")
                : new ChartBar(r.Mode, r.DecodeTokensPerSecond, F(r.DecodeTokensPerSecond, "F1")))]))
            .ToList();
        return BenchChart.Render(new ChartText(speedup ? "condensa bench --speculative: speedup over plain decoding" : "condensa bench --speculative: decode tokens/s",
            $"{Machine.Describe()}, provider {provider}, greedy, {rows.Count} rows",
            speedup ? "decode tok/s / plain decoding's" : "decode tokens/s", Reference: speedup ? 1 : null,
            ReferenceLegend: speedup ? "plain decoding (mode none) = 1.0x" : null), groups);
    }

    /// <summary>Markdown table of the rows.</summary>
    public static string Table(IReadOnlyList<SpeculativeBenchRow> rows)
    {
        var lines = new List<string>
        {
            "| mode | batch | prompt tokens | decode tok/s | vs plain | acceptance | plan | drafted/round | accepted/round | draft ms/round | verify ms/round | same tokens as plain |",
            "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---|",
        };
        static string F(double v, string format) => double.IsNaN(v) ? "-" : v.ToString(format, System.Globalization.CultureInfo.InvariantCulture);
        lines.AddRange(rows.Select(r => $"| {r.Mode} | {r.Batch} | {r.PromptTokens} | {F(r.DecodeTokensPerSecond, "F1")} | {F(r.Speedup, "F2")}x | " +
            $"{(double.IsNaN(r.AcceptanceRate) ? "-" : F(r.AcceptanceRate * 100, "F1") + "%")} | {r.Plan} | {F(r.DraftedPerRound, "F2")} | {F(r.AcceptedPerRound, "F2")} | " +
            $"{F(r.DraftMsPerRound, "F2")} | {F(r.VerifyMsPerRound, "F2")} | " +
            $"{SameTokens(r)} |"));
        return string.Join(Environment.NewLine, lines);
    }

    // "yes", or "NO" with the rows that differ, the earliest new token that does and the widest logit margin there
    private static string SameTokens(SpeculativeBenchRow row) => row.Differs?.Cell ?? "yes";
}
