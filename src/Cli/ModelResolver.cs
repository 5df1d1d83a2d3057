using Condensa.Export;
using Condensa.Runtime;
using Condensa.Tokenization;

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
                return new ResolvedModel(ExportCache.Resolve(model, Path.GetFileName(Path.GetFullPath(model).TrimEnd('/')), precision, log), null, model);
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
        return new ResolvedModel(ExportCache.Resolve(entry.CheckpointPath, entry.Name, precision, log), entry, entry.CheckpointPath);
    }

    private static bool LooksLikePath(string model) =>
        model.Contains('/') || model.Contains('\\') || model.StartsWith('.') || model.StartsWith('~') || Path.IsPathRooted(model);
}

/// <summary>An export folder, the catalog entry when the model came from the catalog, and the checkpoint folder when the
/// export is a cached first-use export of one.</summary>
internal sealed record ResolvedModel(string ExportDir, CatalogEntry? Entry, string? Checkpoint = null)
{
    /// <summary>The model's tokenizer, from the export folder. A cached export holds the checkpoint's tokenizer files, so
    /// an error names the checkpoint first: that is where a missing or broken file has to be fixed (the cache key covers
    /// those files, so the next run exports again).</summary>
    public CheckpointTokenizer LoadTokenizer()
    {
        try
        {
            return TokenizerFactory.FromCheckpoint(ExportDir);
        }
        catch (TokenizerLoadException e) when (Checkpoint is not null)
        {
            throw new TokenizerLoadException($"checkpoint {Checkpoint} (exported on first use to {ExportDir}): {e.Message}", e);
        }
    }
}
