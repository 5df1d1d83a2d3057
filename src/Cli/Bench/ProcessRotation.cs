using System.Diagnostics;

namespace Condensa.Cli.Bench;

/// <summary>
/// How <c>condensa bench</c> with several models stays fair on a small machine: every model is measured in a process of its
/// own, one timed run per process, the models taking turns round after round. In one process a second loaded model's
/// spinning threads and working set cost a small model most of its speed (demo-code at batch 1 on 2 cores: 1,843 tok/s
/// alone, 529 beside demo-code-lckv), and that cost is not the same for both, so one-process ratios mislead.
/// </summary>
internal static class ProcessRotation
{
    /// <summary>Set in a child run; a child measures its one model in-process.</summary>
    public const string ChildVariable = "CONDENSA_BENCH_CHILD";

    /// <summary>The CLI assembly to start children with (`dotnet PATH`) where this process is not the CLI itself (tests).</summary>
    public const string SelfVariable = "CONDENSA_SELF";

    /// <summary>Whether a bench of <paramref name="models"/> models rotates processes: several models, not already a child,
    /// and not asked to stay in one process.</summary>
    public static bool Applies(int models, bool inProcess) =>
        models > 1 && !inProcess && Environment.GetEnvironmentVariable(ChildVariable) != "1";

    /// <summary>The runs in order: round r runs every model once, in the order given.</summary>
    public static IEnumerable<(int Round, string Model)> Order(IReadOnlyList<string> models, int rounds) =>
        Enumerable.Range(0, rounds).SelectMany(round => models.Select(model => (round, model)));

    /// <summary>
    /// The command line of a child: this bench's arguments without the models, the run count, the outputs and the bandwidth
    /// options (the parent keeps those), then one model, one run, no bandwidth and a JSON file for the parent to read.
    /// </summary>
    public static string[] ChildArguments(IReadOnlyList<string> args, string model, string json)
    {
        string[] dropWithValues = ["-m", "--model"];                                   // AllowMultipleArgumentsPerToken
        string[] dropWithValue = ["--runs", "--json", "--chart", "--bandwidth", "--bandwidth-buffer"];
        var kept = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            var name = arg.Split('=', 2)[0];
            if (dropWithValues.Contains(name))
            {
                if (!arg.Contains('=')) while (i + 1 < args.Count && !args[i + 1].StartsWith('-')) i++;
                continue;
            }
            if (dropWithValue.Contains(name))
            {
                if (!arg.Contains('=')) i++;
                continue;
            }
            if (name == "--no-bandwidth" || name == "--in-process") continue;
            kept.Add(arg);
        }
        return [.. kept, "-m", model, "--runs", "1", "--no-bandwidth", "--json", json];
    }

    /// <summary>Runs one child to its end; its JSON (the bench rows) is the result. Its stderr is passed on only when it
    /// fails, with the exit code.</summary>
    public static async Task<string> RunChild(string[] args, CancellationToken cancellationToken)
    {
        var (fileName, prefix) = Self();
        var start = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in prefix.Concat(args)) start.ArgumentList.Add(a);
        start.Environment[ChildVariable] = "1";
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {fileName}");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
            throw new CondensaException($"bench child for '{args[Array.LastIndexOf(args, "-m") + 1]}' exited {process.ExitCode}: {(await stderr).Trim()}");
        await stdout;
        var json = args[Array.LastIndexOf(args, "--json") + 1];
        return await File.ReadAllTextAsync(json, cancellationToken);
    }

    // This CLI as a child command: the apphost itself, or `dotnet condensa.dll` under the dotnet host (or under tests,
    // which name the assembly in CONDENSA_SELF).
    private static (string FileName, string[] Prefix) Self()
    {
        if (Environment.GetEnvironmentVariable(SelfVariable) is { Length: > 0 } dll) return ("dotnet", [dll]);
        var exe = Environment.ProcessPath ?? throw new InvalidOperationException("the process path is unknown");
        return Path.GetFileNameWithoutExtension(exe).Equals("dotnet", StringComparison.OrdinalIgnoreCase)
            ? (exe, [Environment.GetCommandLineArgs()[0]])
            : (exe, []);
    }
}
