using System.CommandLine;
using Condensa.Export;

namespace Condensa.Cli.Commands;

/// <summary>Options shared by the commands that load a model.</summary>
internal static class CommonOptions
{
    public static Option<string> Model() => new("--model", "-m")
    {
        Description = "Catalog name (models.json), Hugging Face checkpoint folder, or export folder",
        Required = true,
    };

    public static Option<string?> Catalog() => new("--catalog")
    {
        Description = "Path of models.json (default: $CONDENSA_MODELS, else the nearest models.json up from the current folder)",
    };

    public static Option<ExportPrecision> Precision() => new("--precision")
    {
        Description = "Precision of the export made on first use",
        DefaultValueFactory = _ => ExportPrecision.Fp32,
        CustomParser = r => ParsePrecision(r.Tokens.Single().Value),
    };

    public static Option<int?> Threads() => new("--threads")
    {
        Description = "ONNX Runtime intra-op threads (default: one per core)",
    };

    public static ExportPrecision ParsePrecision(string value) => value.ToLowerInvariant() switch
    {
        "fp32" or "float32" => ExportPrecision.Fp32,
        "fp16" or "float16" => ExportPrecision.Fp16,
        _ => throw new ArgumentException($"--precision '{value}' is not supported (use fp32 or fp16)."),
    };
}
