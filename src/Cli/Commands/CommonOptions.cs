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
        Description = "Precision of the export made on first use: fp32, fp16, bf16 (GPU providers), int8 or int4 (block-quantized linear weights)",
        DefaultValueFactory = _ => ExportPrecision.Fp32,
        CustomParser = r =>
        {
            var value = r.Tokens.Single().Value;
            if (TryParsePrecision(value, out var precision)) return precision;
            r.AddError($"--precision '{value}' is not supported (use fp32, fp16, int8 or int4).");
            return default;
        },
    };

    /// <summary>--draft-precision: the export of the model's own checkpoint that runs self-speculation's drafts (null: the
    /// model itself).</summary>
    public static Option<ExportPrecision?> DraftPrecision() => new("--draft-precision")
    {
        Description = "The model that drafts runs exported at this precision: the draft model (--draft), or for self-speculation (self, tree " +
            "without --draft) the model's own checkpoint; e.g. fp16 for an fp32 model on a GPU: cheaper draft passes, the same verified output " +
            "(default: the target's precision; self-speculation then drafts with the target itself)",
        CustomParser = r =>
        {
            var value = r.Tokens.Single().Value;
            if (TryParsePrecision(value, out var precision)) return precision;
            r.AddError($"--draft-precision '{value}' is not supported (use fp32, fp16, bf16, int8 or int4).");
            return null;
        },
    };

    public static Option<int?> Threads() => new Option<int?>("--threads")
    {
        Description = "ONNX Runtime intra-op threads (default: one per core)",
    }.AtLeast(1);

    public static bool TryParsePrecision(string value, out ExportPrecision precision)
    {
        (var ok, precision) = value.ToLowerInvariant() switch
        {
            "fp32" or "float32" => (true, ExportPrecision.Fp32),
            "fp16" or "float16" => (true, ExportPrecision.Fp16),
            "bf16" or "bfloat16" => (true, ExportPrecision.Bf16),
            "int8" => (true, ExportPrecision.Int8),
            "int4" => (true, ExportPrecision.Int4),
            _ => (false, ExportPrecision.Fp32),
        };
        return ok;
    }
}
