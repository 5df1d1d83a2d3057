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
        var configuration = new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false };
        // chat handles Ctrl+C itself (it stops the reply); System.CommandLine's handler would end the session.
        if (parse.CommandResult.Command.Name == "chat") configuration.ProcessTerminationTimeout = null;
        return await parse.InvokeAsync(configuration, cancellationToken);
    }
}
