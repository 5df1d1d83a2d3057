using System.Diagnostics;
using Condensa.Runtime;

// Times the passes of a speculative round at batch 1 after a prompt of --past tokens, the median of --rounds rounds (after
// 30 unmeasured ones), each rewound so every round sees the same cache:
//   decode steps alone, one after another (a lone session's steps, for reference);
//   one model: a decode step, then a verification of γ + 1 tokens (past 1,024 tokens on the CPU the step runs the general
//   graph and the verification the causal graph: two sessions taking turns on the cores);
//   with --draft: γ decode steps of the draft model, then the target's verification (two models taking turns).
// Usage: turns --model EXPORT_DIR [--draft EXPORT_DIR] [--past 1024] [--gamma 3] [--threads 2] [--rounds 200] [--no-spin]
//              [--fused-attention auto|on|off]
var options = Args.Parse(args);
var settings = new SessionSettings { IntraOpThreads = options.Threads, AllowSpinning = !options.NoSpin, FusedAttention = options.FusedAttention };
using var target = DecoderModel.Load(options.Model, settings);
using var draft = options.Draft is null ? null : DecoderModel.Load(options.Draft, settings);
var random = new Random(1);
int[] Ids(int n) => [.. Enumerable.Range(0, n).Select(_ => random.Next(3, target.Manifest.VocabSize))];
var prompt = Ids(options.Past);
var tokens = Ids(options.Gamma + 1);
using var targetCache = Prefilled(target, prompt);
using var draftCache = draft is null ? null : Prefilled(draft, prompt);

var spin = options.NoSpin ? "off" : "on";
Console.WriteLine("| passes | spinning | first ms | verification ms | round ms |");
Console.WriteLine("|---|---|---:|---:|---:|");
var alone = Median([.. Enumerable.Range(0, 30 + options.Rounds).Select(round =>
{
    var clock = Stopwatch.StartNew();
    target.ForwardGreedy(targetCache, new ForwardInputs(tokens.AsSpan(0, 1), [1], LogitsSelection.LastPerRow));
    var ms = clock.Elapsed.TotalMilliseconds;
    targetCache.RewindTo(0, options.Past);
    return ms;
}).Skip(30)]);
Console.WriteLine($"| decode steps alone | {spin} | {alone:F3} | - | {alone:F3} |");
var (step, verify) = Time(() => target.ForwardGreedy(targetCache, new ForwardInputs(tokens.AsSpan(0, 1), [1], LogitsSelection.LastPerRow)));
Console.WriteLine($"| a decode step, then {tokens.Length} tokens verified | {spin} | {step:F3} | {verify:F3} | {step + verify:F3} |");
if (draft is not null)
{
    (step, verify) = Time(() =>
    {
        for (var j = 0; j < options.Gamma; j++)
            draft.ForwardGreedy(draftCache!, new ForwardInputs(tokens.AsSpan(j, 1), [1], LogitsSelection.LastPerRow));
    });
    Console.WriteLine($"| {options.Gamma} draft steps, then {tokens.Length} tokens verified | {spin} | {step:F3} | {verify:F3} | {step + verify:F3} |");
}

// the medians of `first` and of the target's verification that follows it, each round rewound to the prompt
(double First, double Verify) Time(Action first)
{
    var (firsts, verifications) = (new List<double>(), new List<double>());
    for (var round = 0; round < 30 + options.Rounds; round++)
    {
        var clock = Stopwatch.StartNew();
        first();
        var firstMs = clock.Elapsed.TotalMilliseconds;
        target.ForwardGreedy(targetCache, new ForwardInputs(tokens, [tokens.Length], LogitsSelection.All));
        var verifyMs = clock.Elapsed.TotalMilliseconds - firstMs;
        targetCache.RewindTo(0, options.Past);
        draftCache?.RewindTo(0, options.Past);
        if (round < 30) continue;
        firsts.Add(firstMs);
        verifications.Add(verifyMs);
    }
    return (Median(firsts), Median(verifications));
}

static double Median(List<double> values)
{
    values.Sort();
    return values[values.Count / 2];
}

static KvCache Prefilled(DecoderModel model, int[] prompt)
{
    var cache = model.CreateCache(1);
    for (var at = 0; at < prompt.Length; at += 256)
    {
        var n = Math.Min(256, prompt.Length - at);
        model.Forward(cache, prompt.AsSpan(at, n), [n], LogitsSelection.LastPerRow);
    }
    return cache;
}

internal sealed record Args(string Model, string? Draft, int Past, int Gamma, int Threads, int Rounds, bool NoSpin, bool? FusedAttention)
{
    public static Args Parse(string[] args)
    {
        var values = new Dictionary<string, string>();
        var noSpin = false;
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--no-spin") noSpin = true;
            else if (args[i].StartsWith("--", StringComparison.Ordinal) && i + 1 < args.Length) values[args[i][2..]] = args[++i];
            else throw new ArgumentException($"unexpected argument '{args[i]}'");
        }
        int Int(string name, int fallback) => values.TryGetValue(name, out var v) ? int.Parse(v) : fallback;
        return new Args(values.TryGetValue("model", out var model) ? model : throw new ArgumentException("--model EXPORT_DIR is required"),
            values.GetValueOrDefault("draft"), Int("past", 1024), Int("gamma", 3), Int("threads", 2), Int("rounds", 200), noSpin,
            values.GetValueOrDefault("fused-attention", "auto") switch
            {
                "auto" => null,
                "on" => true,
                "off" => false,
                var other => throw new ArgumentException($"--fused-attention '{other}' must be auto, on or off"),
            });
    }
}
