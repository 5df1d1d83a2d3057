using System.CommandLine;
using Condensa.Export;
using Condensa.Runtime;

namespace Condensa.Cli.Commands;

/// <summary>
/// --model, --catalog, --precision, --threads and the execution options of a command that loads one model, with the two
/// steps every such command takes: resolve the model (catalog entry, export on first use) and build its session settings.
/// </summary>
internal sealed class ModelOptions
{
    public Option<string> Model { get; } = CommonOptions.Model();
    public Option<string?> Catalog { get; } = CommonOptions.Catalog();
    public Option<ExportPrecision> Precision { get; } = CommonOptions.Precision();
    public Option<int?> Threads { get; } = CommonOptions.Threads();
    public ExecutionOptions Execution { get; } = new();

    /// <summary>Adds the options to <paramref name="command"/>: the model's first in its help, the execution options last.</summary>
    public ModelOptions AddTo(Command command)
    {
        Option[] first = [Model, Catalog, Precision, Threads];
        for (var i = 0; i < first.Length; i++) command.Options.Insert(i, first[i]);
        Execution.AddTo(command);
        return this;
    }

    /// <summary>The model --model names, exported at --precision on first use (progress on <paramref name="log"/>).</summary>
    public ResolvedModel Resolve(ParseResult parse, TextWriter log) =>
        ModelResolver.Resolve(parse.GetValue(Model)!, parse.GetValue(Catalog), parse.GetValue(Precision), log);

    /// <summary>Session settings for <paramref name="model"/>: --threads and the execution options (<see cref="ExecutionOptions.Settings"/>).</summary>
    public SessionSettings Settings(ParseResult parse, ResolvedModel model) => Execution.Settings(parse, parse.GetValue(Threads), model.Entry);
}
