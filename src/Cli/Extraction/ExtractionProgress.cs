using System.Diagnostics;
using Spectre.Console;

namespace Condensa.Cli.Extraction;

/// <summary>
/// Counts finished records and shows them: a Spectre.Console progress bar with documents/s and tokens/s when stderr
/// is a terminal, else a plain log line at most every <see cref="LogInterval"/> (batch schedulers keep logs, not bars).
/// </summary>
internal sealed class ExtractionProgress
{
    // Often enough to see a job is alive in `kubectl logs`, rare enough to keep a day-long job's log short.
    private static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(10);

    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private Action _changed = () => { };

    private ExtractionProgress(long total) => Total = total;

    public long Total { get; }
    public long Documents { get; private set; }
    public long Errors { get; private set; }
    public long GeneratedTokens { get; private set; }
    public TimeSpan Elapsed => _clock.Elapsed;
    public double DocumentsPerSecond => Documents / Math.Max(Elapsed.TotalSeconds, 1e-9);
    public double TokensPerSecond => GeneratedTokens / Math.Max(Elapsed.TotalSeconds, 1e-9);

    /// <summary>Counts one finished record.</summary>
    public void Record(bool error, int generatedTokens)
    {
        Documents++;
        if (error) Errors++;
        GeneratedTokens += generatedTokens;
        _changed();
    }

    public string Line() => $"{Documents}/{Total} documents ({Errors} errors) | {DocumentsPerSecond:F2} documents/s | {TokensPerSecond:F1} tokens/s";

    /// <summary>Runs <paramref name="work"/> with a progress display on <paramref name="error"/>.</summary>
    public static ExtractionProgress Run(long total, TextWriter error, bool terminal, Action<ExtractionProgress> work)
    {
        var progress = new ExtractionProgress(total);
        if (terminal)
        {
            var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(error) });
            console.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
                .Start(context =>
                {
                    var task = context.AddTask("extract", maxValue: Math.Max(total, 1));
                    progress._changed = () =>
                    {
                        task.Value = progress.Documents;
                        task.Description = $"{progress.Documents}/{total} docs | {progress.DocumentsPerSecond:F2} docs/s | {progress.TokensPerSecond:F0} tok/s";
                    };
                    work(progress);
                    task.Value = task.MaxValue;
                });
            return progress;
        }
        var lastLog = TimeSpan.Zero;
        progress._changed = () =>
        {
            if (progress.Elapsed - lastLog < LogInterval) return;
            lastLog = progress.Elapsed;
            error.WriteLine($"[extract] {progress.Line()}");
        };
        work(progress);
        return progress;
    }
}
