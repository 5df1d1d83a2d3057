using System.CommandLine;
using Condensa.Export;

namespace Condensa.Cli.Commands;

/// <summary><c>condensa export</c>: a Hugging Face checkpoint folder to an ONNX graph + condensa.json.</summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "Hugging Face checkpoint folder (config.json + safetensors)", Required = true };
        var output = new Option<string>("--out") { Description = "Folder to write model.onnx, model.onnx.data and condensa.json into", Required = true };
        var precision = CommonOptions.Precision();
        var command = new Command("export", "Export a Hugging Face checkpoint to an ONNX graph") { checkpoint, output, precision };
        command.SetAction((parse, _) => CommandErrors.Guard(parse.InvocationConfiguration.Error, async () =>
        {
            var result = CheckpointExporter.Export(parse.GetValue(checkpoint)!, parse.GetValue(output)!,
                new ExportOptions { Precision = parse.GetValue(precision) });
            await parse.InvocationConfiguration.Output.WriteLineAsync($"exported {result.Manifest.Architecture} to {parse.GetValue(output)}");
            return 0;
        }));
        return command;
    }
}
