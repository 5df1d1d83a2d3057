using System.CommandLine;
using Condensa.Cli.Commands;

namespace Condensa.Cli;

/// <summary>The <c>condensa</c> command line: one subcommand per job, output to the given writers so tests can
/// run it in-process.</summary>
public static class CliApp
{
    /// <summary>Parses and runs <paramref name="args"/>; returns the process exit code. <paramref name="input"/> feeds
    /// interactive commands (standard input by default); <paramref name="interrupts"/> delivers Ctrl+C to <c>chat</c>, which
    /// stops the current reply instead of the process (the console's Ctrl+C by default).</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default,
        TextReader? input = null, ChatInterrupts? interrupts = null)
    {
        var root = new RootCommand("Condensa: LLM inference on ONNX Runtime with condensed KV caches and speculative decoding.")
        {
            GenerateCommand.Create(input),
            ExportCommand.Create(),
            ModelsCommand.Create(),
            BenchCommand.Create(),
            CalibrateCommand.Create(),
            ChatCommand.Create(input ?? Console.In, interrupts),
            ExtractCommand.Create(),
            PerplexityCommand.Create(),
            ServeCommand.Create(),
        };
        var parse = root.Parse(args);
        // Bare `condensa` shows the help; any other mistake is one line per error, not the help after it.
        if (parse.Errors.Count > 0 && args.Length > 0)
        {
            foreach (var line in ParseErrors.Lines(parse)) await error.WriteLineAsync(line);
            return 1;
        }
        // Signals cancel the command's token (TerminationSignals), not System.CommandLine's handler, which ends the process
        // 2 s later; chat takes Ctrl+C itself (it stops the reply).
        var configuration = new InvocationConfiguration
        {
            Output = output, Error = error, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null,
        };
        using var signals = new TerminationSignals(interrupt: parse.CommandResult.Command.Name != "chat");
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, signals.Token);
        return await parse.InvokeAsync(configuration, stop.Token);
    }
}
