using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Condensa.Export;

/// <summary>
/// A cheap identity of a checkpoint for export caches: SHA-256 over config.json's bytes and the names, sizes
/// and modification times of its weight files (hashing gigabytes of weights would cost as much as exporting).
/// </summary>
public static class CheckpointFingerprint
{
    /// <summary>The lowercase hex fingerprint of the checkpoint in <paramref name="checkpointDir"/>.</summary>
    /// <exception cref="ExportException">config.json or the weights are missing.</exception>
    public static string Compute(string checkpointDir)
    {
        string config = Path.Combine(checkpointDir, "config.json");
        if (!File.Exists(config)) throw new ExportException($"Missing config.json: '{config}' does not exist.");

        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(File.ReadAllBytes(config));
        var files = SafeTensorsReader.WeightFiles(checkpointDir).ToList();
        string index = Path.Combine(checkpointDir, SafeTensorsReader.IndexFileName);
        if (File.Exists(index) && !files.Any(f => Path.GetFileName(f) == SafeTensorsReader.SingleFileName)) files.Insert(0, index);
        foreach (string file in files)
        {
            var info = new FileInfo(file);
            string line = string.Create(CultureInfo.InvariantCulture,
                $"\n{info.Name}\t{info.Length}\t{info.LastWriteTimeUtc.Ticks}");
            sha.AppendData(Encoding.UTF8.GetBytes(line));
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }
}
