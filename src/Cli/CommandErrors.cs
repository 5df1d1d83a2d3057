using Condensa.Export;
using Condensa.Runtime;
using Condensa.Tokenization;

namespace Condensa.Cli;

/// <summary>Turns the errors a user can act on into one line on stderr and exit code 1; anything else is a bug
/// and keeps its stack trace.</summary>
internal static class CommandErrors
{
    /// <summary>Sets <paramref name="command"/>'s action to <paramref name="action"/> under <see cref="Guard"/>, with the
    /// invocation's output and error writers.</summary>
    public static void SetGuardedAction(this System.CommandLine.Command command,
        Func<System.CommandLine.ParseResult, TextWriter, TextWriter, CancellationToken, Task<int>> action) =>
        command.SetAction((parse, cancellationToken) =>
        {
            var configuration = parse.InvocationConfiguration;
            return Guard(configuration.Error, () => action(parse, configuration.Output, configuration.Error, cancellationToken));
        });

    public static async Task<int> Guard(TextWriter error, Func<Task<int>> action)
    {
        try
        {
            return await action();
        }
        catch (Exception e) when (e is CondensaException or ExportException or TokenizerLoadException or ArgumentException or IOException)
        {
            await error.WriteLineAsync($"error: {e.Message}");
            return 1;
        }
        catch (OperationCanceledException)
        {
            await error.WriteLineAsync("cancelled");
            return 130;
        }
    }
}
