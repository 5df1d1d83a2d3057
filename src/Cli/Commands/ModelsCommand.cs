using System.CommandLine;
using Condensa.Runtime;

namespace Condensa.Cli.Commands;

/// <summary><c>condensa models</c>: lists the catalog.</summary>
internal static class ModelsCommand
{
    public static Command Create()
    {
        var catalog = CommonOptions.Catalog();
        var command = new Command("models", "List the models of models.json") { catalog };
        command.SetGuardedAction(async (parse, output, _, _) =>
        {
            var path = ModelCatalog.Locate(parse.GetValue(catalog))
                ?? throw new CondensaException($"no {ModelCatalog.FileName} found (pass --catalog or set CONDENSA_MODELS).");
            var loaded = ModelCatalog.Load(path);
            await output.WriteLineAsync($"{"NAME",-20} {"ARCHITECTURE",-22} {"DRAFT",-20} {"CHECKPOINT",-8} DESCRIPTION");
            foreach (var e in loaded.Entries)
            {
                var present = Directory.Exists(e.CheckpointPath) ? "present" : "missing";
                await output.WriteLineAsync($"{e.Name,-20} {e.Architecture ?? "?",-22} {e.Draft ?? "-",-20} {present,-8} {e.Description}");
            }
            return 0;
        });
        return command;
    }
}
