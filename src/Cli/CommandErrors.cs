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
            await error.WriteLineAsync($"error: {OneLine(e)}");
            return 1;
        }
        catch (OperationCanceledException)
        {
            await error.WriteLineAsync("cancelled");
            return 130;
        }
    }

    /// <summary>
    /// The message on one line. A library's ArgumentException appends its C# parameter name (" (Parameter 'TopP')") and an
    /// ArgumentOutOfRangeException a second line with the value; what the user set (a catalog default, say) is named by
    /// the message itself, so the name goes and the value joins the line.
    /// </summary>
    internal static string OneLine(Exception e)
    {
        var message = e.Message;
        if (e is ArgumentException { ParamName: { } name })
        {
            message = message.Split('\n')[0].TrimEnd('\r');
            message = message.EndsWith($" (Parameter '{name}')", StringComparison.Ordinal) ? message[..^$" (Parameter '{name}')".Length] : message;
            if (e is ArgumentOutOfRangeException { ActualValue: { } value })
                message += string.Create(System.Globalization.CultureInfo.InvariantCulture, $", got {value}");
        }
        return message.ReplaceLineEndings(" ");
    }
}
