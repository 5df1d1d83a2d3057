using Condensa.Export;
using Condensa.Runtime;

namespace Condensa.Cli;

/// <summary>
/// Exports a checkpoint on first use into a cache folder keyed by the checkpoint's fingerprint, the precision and the
/// exporter version, and reuses that export while the checkpoint is unchanged. The export is written to a temporary
/// folder and renamed into place, so an interrupted export is never mistaken for a finished one.
/// </summary>
internal static class ExportCache
{
    /// <summary>Root of the cache: $CONDENSA_CACHE, else $XDG_CACHE_HOME/condensa, else ~/.cache/condensa.</summary>
    public static string Root =>
        Environment.GetEnvironmentVariable("CONDENSA_CACHE") is { Length: > 0 } env ? env
        : Path.Combine(Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"), "condensa");

    /// <summary>The export folder of <paramref name="checkpointDir"/>, exporting it if needed.</summary>
    public static string Resolve(string checkpointDir, string name, ExportPrecision precision, TextWriter log)
    {
        var fingerprint = CheckpointFingerprint.Compute(checkpointDir);
        var folder = Path.Combine(Root, $"{Sanitize(name)}-{precision.ToString().ToLowerInvariant()}-v{CheckpointExporter.Version}-{fingerprint[..16]}");
        if (File.Exists(Path.Combine(folder, ModelManifest.FileName))) return folder;

        Directory.CreateDirectory(Root);
        var staging = $"{folder}.tmp-{Environment.ProcessId}";
        log.WriteLine($"exporting {checkpointDir} ({precision}) into {folder} ...");
        try
        {
            CheckpointExporter.Export(checkpointDir, staging, new ExportOptions { Precision = precision, Progress = step => log.WriteLine($"  {step}") });
            Directory.Move(staging, folder);
        }
        catch (IOException) when (File.Exists(Path.Combine(folder, ModelManifest.FileName)))
        {
            // Another process finished the same export first; use theirs.
        }
        finally
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        }
        return folder;
    }

    private static string Sanitize(string name) =>
        new(name.Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_').ToArray());
}
