using Condensa.Export;
using Condensa.Runtime;

namespace Condensa.Cli;

/// <summary>Turns a --model argument (a catalog name, a checkpoint folder or an export folder) into an export folder.</summary>
internal static class ModelResolver
{
    public static ResolvedModel Resolve(string model, string? catalogPath, ExportPrecision precision, TextWriter log)
    {
        if (Directory.Exists(model))
        {
            if (File.Exists(Path.Combine(model, ModelManifest.FileName))) return new ResolvedModel(model, null);
            if (File.Exists(Path.Combine(model, "config.json")))
                return new ResolvedModel(ExportCache.Resolve(model, Path.GetFileName(Path.GetFullPath(model).TrimEnd('/')), precision, log), null);
            throw new CondensaException($"{model}: folder has neither {ModelManifest.FileName} (an export) nor config.json (a checkpoint).");
        }
        var located = ModelCatalog.Locate(catalogPath);
        var catalog = located is null ? null : ModelCatalog.Load(located);
        // A path that is not a catalog name is a missing folder, not a name missing from models.json.
        if (LooksLikePath(model) && catalog?.Entries.Any(e => e.Name == model) != true)
            throw new CondensaException($"--model {model}: folder does not exist.");
        if (catalog is null)
            throw new CondensaException($"--model '{model}' is not a folder, and no {ModelCatalog.FileName} was found (pass --catalog or set CONDENSA_MODELS).");
        var entry = catalog.Get(model);
        if (!Directory.Exists(entry.CheckpointPath))
            throw new CondensaException($"{located}: checkpoint folder '{entry.CheckpointPath}' of model '{model}' does not exist.");
        return new ResolvedModel(ExportCache.Resolve(entry.CheckpointPath, entry.Name, precision, log), entry);
    }

    private static bool LooksLikePath(string model) =>
        model.Contains('/') || model.Contains('\\') || model.StartsWith('.') || model.StartsWith('~') || Path.IsPathRooted(model);
}

/// <summary>An export folder and, when the model came from the catalog, its entry.</summary>
internal sealed record ResolvedModel(string ExportDir, CatalogEntry? Entry);
