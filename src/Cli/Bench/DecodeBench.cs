using System.Diagnostics;
using System.Globalization;
using Condensa.Runtime;

namespace Condensa.Cli.Bench;

/// <summary>What a decode benchmark measures: batches and contexts, the KV budget, steps, runs and the prefill length.</summary>
internal sealed record DecodeBenchSettings(int[] Batches, int[] Contexts, long KvBudget, int DecodeSteps, int Runs, int PrefillTokens, bool AtBudget);

/// <summary>One decode row; <paramref name="AtBudget"/>: measured at the model's largest batch within the KV budget.</summary>
internal sealed record DecodeBenchRow(string Model, string KvLayers, int Batch, int Context, double DecodeTokensPerSecond,
    double DecodeSlowest, double DecodeFastest, double PrefillTokensPerSecond, long KvBytesPerToken, long StandardKvBytesPerToken, int LargestBatch, int StandardLargestBatch,
    bool AtBudget, DecodeBound Bound);

/// <summary>
/// The decode table of <c>condensa bench</c> in one process: decode tok/s on a synthetic context (zero KV of the given
/// length; a step's cost does not depend on the values), the median of timed runs of greedy steps after a warm-up with the
/// slowest and fastest run, prefill tok/s of one batch-1 chunk, KV bytes per token and the largest batch within a KV budget,
/// each row with its memory-bandwidth bound; the table and the chart of those rows.
/// </summary>
internal static class DecodeBench
{
    // Untimed decode steps before the timed runs (first-run allocations, ONNX Runtime's lazy initialisation).
    public const int DecodeWarmup = 2;

    public static List<DecodeBenchRow> Measure(List<(string Name, DecoderModel Model)> decoders, StepWeights[] weights, DecodeBenchSettings settings,
        CancellationToken cancellationToken)
    {
        // Fail before measuring anything rather than after minutes of rows.
        foreach (var (name, model) in decoders)
        {
            var longest = settings.Contexts.Max() + settings.DecodeSteps + DecodeWarmup;
            if (longest > model.Manifest.MaxContext || settings.PrefillTokens > model.Manifest.MaxContext)
                throw new ArgumentException($"--context {settings.Contexts.Max()} + {settings.DecodeSteps} decode steps + {DecodeWarmup} warm-up " +
                    $"(or --prefill-tokens {settings.PrefillTokens}) exceeds max_context {model.Manifest.MaxContext} of model '{name}'.");
        }
        var planners = decoders.Select(d => new MemoryPlanner(d.Model.Manifest, growthChunk: new KvCacheOptions().GrowthChunk)).ToArray();
        var prefill = PrefillTokensPerSecond([.. decoders.Select(d => d.Model)], settings);
        var rows = new List<DecodeBenchRow>();
        foreach (var context in settings.Contexts)
        {
            // 1) the listed batches, every model round-robin at the same batch
            foreach (var batch in settings.Batches)
                AddRows([.. Enumerable.Range(0, decoders.Count)], [.. decoders.Select(_ => batch)], context, atBudget: false);
            // 2) with --at-budget, every model at its own largest batch within the KV budget, round-robin too
            if (settings.AtBudget)
            {
                var fits = Enumerable.Range(0, decoders.Count).Where(m => planners[m].LargestBatch(settings.KvBudget, context) >= 1).ToArray();
                AddRows(fits, [.. fits.Select(m => planners[m].LargestBatch(settings.KvBudget, context))], context, atBudget: true);
            }
        }

        void AddRows(int[] measured, int[] batches, int context, bool atBudget)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (rates, slowest, fastest, slots) = DecodeTokensPerSecond([.. measured.Select(m => decoders[m].Model)], batches, context, settings);
            for (var i = 0; i < measured.Length; i++)
            {
                var (name, model) = decoders[measured[i]];
                var planner = planners[measured[i]];
                rows.Add(new DecodeBenchRow(name, $"{model.Manifest.KvLayers.Length}/{model.Manifest.NumLayers}", batches[i], context,
                    Math.Round(rates[i], 1), Math.Round(slowest[i], 1), Math.Round(fastest[i], 1), Math.Round(prefill[measured[i]], 1), planner.CondensedBytesPerToken, planner.StandardBytesPerToken,
                    planner.LargestBatch(settings.KvBudget, context), planner.LargestBatch(settings.KvBudget, context, condensed: false), atBudget,
                    DecodeBound.Of(weights[measured[i]].StreamedBytes, batches[i], slots[i], model.Manifest.KvBytesReadPerToken)));
            }
        }
        return rows;
    }

    // 1) synthetic context per model  2) warm-up steps  3) timed runs of greedy steps (each returns the next token per row,
    //    as greedy generation does: an export with greedy_tokens keeps the logits on the GPU), round-robin over the models so that
    //    interference from other processes spreads over all of them  4) median per model, and the slots each step read
    private static (double[] Rates, double[] Slowest, double[] Fastest, int[] Slots) DecodeTokensPerSecond(DecoderModel[] models, int[] batches,
        int context, DecodeBenchSettings settings)
    {
        const int warmup = DecodeWarmup;
        var caches = models.Select((m, i) => m.CreateCache(batches[i], new KvCacheOptions { InitialCapacity = context + settings.DecodeSteps + warmup })).ToArray();
        try
        {
            var tokens = models.Select((m, i) => RandomTokens(batches[i], m.Manifest.VocabSize, seed: context + batches[i])).ToArray();
            var counts = batches.Select(b => Enumerable.Repeat(1, b).ToArray()).ToArray();
            var rates = models.Select(_ => new List<double>()).ToArray();
            for (var m = 0; m < models.Length; m++)
            {
                SyntheticContext.Fill(caches[m], context);
                for (var i = 0; i < warmup; i++) models[m].ForwardGreedy(caches[m], new ForwardInputs(tokens[m], counts[m], LogitsSelection.LastPerRow));
            }
            for (var run = 0; run < settings.Runs; run++)
            for (var m = 0; m < models.Length; m++)
            {
                caches[m].RewindTo(context);
                var clock = Stopwatch.StartNew();
                for (var s = 0; s < settings.DecodeSteps; s++) models[m].ForwardGreedy(caches[m], new ForwardInputs(tokens[m], counts[m], LogitsSelection.LastPerRow));
                rates[m].Add((double)batches[m] * settings.DecodeSteps / clock.Elapsed.TotalSeconds);
            }
            return ([.. rates.Select(Median)], [.. rates.Select(r => r.Min())], [.. rates.Select(r => r.Max())], [.. caches.Select(c => c.Capacity)]);
        }
        finally
        {
            foreach (var cache in caches) cache.Dispose();
        }
    }

    // Batch 1, one chunk; round-robin over the models like decode; run -1 is the warm-up.
    private static double[] PrefillTokensPerSecond(DecoderModel[] models, DecodeBenchSettings settings)
    {
        var rates = models.Select(_ => new List<double>()).ToArray();
        for (var run = -1; run < settings.Runs; run++)
        for (var m = 0; m < models.Length; m++)
        {
            var prompt = RandomTokens(settings.PrefillTokens, models[m].Manifest.VocabSize, seed: 7);
            using var cache = models[m].CreateCache(1, new KvCacheOptions { InitialCapacity = settings.PrefillTokens });
            var clock = Stopwatch.StartNew();
            models[m].Forward(cache, prompt, [prompt.Length], LogitsSelection.LastPerRow);
            if (run >= 0) rates[m].Add(prompt.Length / clock.Elapsed.TotalSeconds);
        }
        return [.. rates.Select(Median)];
    }

    public static string Table(List<DecodeBenchRow> rows, DecodeBenchSettings settings)
    {
        var budget = settings.KvBudget.ToString("N0", CultureInfo.InvariantCulture);
        var lines = new List<string>
        {
            $"| model | KV layers | batch | context | decode tok/s | bound tok/s | of bound | prefill tok/s ({settings.PrefillTokens}) | KV B/token | standard KV B/token | max batch in {budget} B | standard max batch |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        };
        lines.AddRange(rows.Select(r => string.Create(CultureInfo.InvariantCulture,
            $"| {r.Model} | {r.KvLayers} | {r.Batch} | {r.Context} | {r.DecodeTokensPerSecond:F1} ({r.DecodeSlowest:F1}-{r.DecodeFastest:F1}) | {Optional(r.Bound.TokensPerSecond, "F1")} | {PercentWithRange(r.Bound)} | {r.PrefillTokensPerSecond:F1} | {r.KvBytesPerToken:N0} | {r.StandardKvBytesPerToken:N0} | {r.LargestBatch} | {r.StandardLargestBatch} |")));
        return string.Join(Environment.NewLine, lines);
    }

    /// <summary>Where a model runs: provider, KV residence, CUDA graphs, and the exported graph's nodes (each a kernel launch
    /// on a GPU unless ONNX Runtime fuses it or a captured graph replays the step).</summary>
    public static string Describe(string name, DecoderModel model, StepWeights weights) =>
        $"{name}: provider {model.Provider.Name}, KV in {(model.KvOnDevice ? "device" : "host")} memory, " +
        $"CUDA graphs {(model.CapturesGraphs ? "on" : "off")}, {weights.Nodes} graph nodes, fused attention " +
        (model.FusedAttention ? $"on (causal graph: {StepWeights.Read(Path.Combine(model.Directory, model.Manifest.CausalGraph!)).Nodes} nodes)" : "off");

    private static string Optional(double? value, string format) => value?.ToString(format, CultureInfo.InvariantCulture) ?? "-";

    private static string Percent(double? fraction) => fraction is { } f ? string.Create(CultureInfo.InvariantCulture, $"{f * 100:F0} %") : "-";

    // "35 % (33-37)": the share and its range over the bandwidth passes and the decode runs.
    private static string PercentWithRange(DecodeBound bound) => bound is { OfBoundLow: { } low, OfBoundHigh: { } high }
        ? string.Create(CultureInfo.InvariantCulture, $"{Percent(bound.OfBound)} ({low * 100:F0}-{high * 100:F0})")
        : Percent(bound.OfBound);

    /// <summary>Decode tok/s per (batch, context), one bar per row and one colour per model, the bound behind each bar.</summary>
    public static string DecodeChart(List<DecodeBenchRow> rows, Bandwidth bandwidth, string provider, int threads)
    {
        var groups = rows.GroupBy(r => r.AtBudget ? $"ctx {r.Context}, largest batch" : $"batch {r.Batch}, ctx {r.Context}")
            .Select(g => new ChartGroup(g.Key, [.. g.Select(r => new ChartBar(r.Model, r.DecodeTokensPerSecond,
                r.DecodeTokensPerSecond.ToString("F1", CultureInfo.InvariantCulture), r.Bound.TokensPerSecond, Note(r)))]))
            .ToList();
        var bound = bandwidth.GigabytesPerSecond is { } gbps
            ? string.Create(CultureInfo.InvariantCulture, $"bound: {gbps:F1} GB/s ({bandwidth.Source}) / bytes read per token; % = share of it reached")
            : null;
        return BenchChart.Render(new ChartText("condensa bench: decode tokens/s",
            $"{Machine.Describe()}, provider {provider}, {threads} threads" +
            (bandwidth.GigabytesPerSecond is { } b ? string.Create(CultureInfo.InvariantCulture, $", {b:F1} GB/s") : ""),
            "decode tokens/s (all rows of the batch)", bound), groups);
    }

    // Under the value: the batch of an at-budget row (it differs per model) and the share of the bound reached.
    private static string? Note(DecodeBenchRow row)
    {
        string?[] parts = [row.AtBudget ? $"b{row.Batch}" : null, row.Bound.OfBound is null ? null : Percent(row.Bound.OfBound)];
        return parts.Any(p => p is not null) ? string.Join(", ", parts.OfType<string>()) : null;
    }

    private static int[] RandomTokens(int count, int vocab, int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(_ => random.Next(Math.Min(3, vocab - 1), vocab))];
    }

    public static double Median(List<double> values)
    {
        values.Sort();
        var n = values.Count;
        return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
    }
}
