using System.Diagnostics;
using System.Globalization;
using Condensa.Export;
using Condensa.Runtime;

namespace Condensa.Cli;

/// <summary>
/// Exports a checkpoint on first use into a cache folder keyed by the checkpoint's fingerprint (every file the export
/// reads: <see cref="CheckpointFingerprint"/>), the precision and the exporter version, and reuses that export while
/// all of them are unchanged. The export is written to a temporary folder (<c>KEY.tmp-PID-HOST</c>) and renamed into
/// place, so an interrupted export is never mistaken for a finished one; temporary folders that a killed export left
/// behind are removed on the next use (<see cref="RemoveAbandonedTemps"/>).
/// </summary>
internal static class ExportCache
{
    private const string TempMarker = ".tmp-";

    // Far longer than any export writes nothing (an export writes its weights file continuously, then renames the folder).
    private static readonly TimeSpan ForeignTempAge = TimeSpan.FromHours(24);

    /// <summary>Root of the cache: $CONDENSA_CACHE, else $XDG_CACHE_HOME/condensa, else ~/.cache/condensa.</summary>
    public static string Root =>
        Environment.GetEnvironmentVariable("CONDENSA_CACHE") is { Length: > 0 } env ? env
        : Path.Combine(Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"), "condensa");

    /// <summary>The cache folder for <paramref name="checkpointDir"/> exported at <paramref name="precision"/>.</summary>
    private static string FolderOf(string checkpointDir, string name, ExportPrecision precision) =>
        Path.Combine(Root, $"{Sanitize(name)}-{precision.ToString().ToLowerInvariant()}-v{CheckpointExporter.Version}-" +
            CheckpointFingerprint.Compute(checkpointDir)[..16]);

    /// <summary>The export folder of <paramref name="checkpointDir"/>, exporting it if needed.</summary>
    public static string Resolve(string checkpointDir, string name, ExportPrecision precision, TextWriter log)
    {
        var folder = FolderOf(checkpointDir, name, precision);
        RemoveAbandonedTemps();
        if (File.Exists(Path.Combine(folder, ModelManifest.FileName))) return folder;

        Directory.CreateDirectory(Root);
        var staging = $"{folder}{TempMarker}{Environment.ProcessId}-{Sanitize(Environment.MachineName)}";
        log.WriteLine($"exporting {checkpointDir} ({precision}) into {folder} ...");
        try
        {
            CheckpointExporter.Export(checkpointDir, staging, new ExportOptions { Precision = precision, Progress = step => log.WriteLine($"  {step}") });
            // A folder without a manifest is never a finished export (the rename below is the only way one appears)
            // but what is left of one someone half-deleted: replace it.
            if (Directory.Exists(folder) && !File.Exists(Path.Combine(folder, ModelManifest.FileName))) Directory.Delete(folder, recursive: true);
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

    /// <summary>
    /// Deletes the temporary folders of exports whose process has died (killed mid-export). The PID is judged only on its
    /// own host: a cache on a shared disk (NFS home on a cluster, a volume shared by pods) may hold another node's export
    /// in progress. Another host's folder is removed once nothing in it has been written for <see cref="ForeignTempAge"/>
    /// (a restarted pod comes back under a new host name, so its old folder has no other owner). Folders written before
    /// the host was part of the name (<c>KEY.tmp-PID</c>) count as this host's.
    /// </summary>
    private static void RemoveAbandonedTemps()
    {
        if (!Directory.Exists(Root)) return;
        var host = Sanitize(Environment.MachineName);
        foreach (var dir in Directory.EnumerateDirectories(Root, $"*{TempMarker}*"))
        {
            var owner = Path.GetFileName(dir)[(Path.GetFileName(dir).LastIndexOf(TempMarker, StringComparison.Ordinal) + TempMarker.Length)..];
            var dash = owner.IndexOf('-');
            var (pidText, ownerHost) = dash < 0 ? (owner, host) : (owner[..dash], owner[(dash + 1)..]);
            if (!int.TryParse(pidText, NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) continue;
            try
            {
                var abandoned = ownerHost == host ? !IsRunning(pid) : DateTime.UtcNow - LastWrite(dir) > ForeignTempAge;
                if (abandoned) Directory.Delete(dir, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Its export just finished (renamed), someone else is removing it too, or a file in it is held open; the
                // next run looks again.
            }
        }
    }

    private static DateTime LastWrite(string dir) =>
        new DirectoryInfo(dir).EnumerateFileSystemInfos("*", SearchOption.AllDirectories).Select(f => f.LastWriteTimeUtc)
            .Append(Directory.GetLastWriteTimeUtc(dir)).Max();

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return false;   // no such process, or it exited while we looked
        }
    }

    private static string Sanitize(string name) =>
        new(name.Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_').ToArray());
}
