using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Condensa.Export;

/// <summary>
/// A cheap identity of everything an export reads from a checkpoint, for export caches: SHA-256 over the bytes of
/// config.json, generation_config.json and every tokenizer file the export copies (a changed eos_token_id or a
/// tokenizer added later must give a new export), and over the names, sizes and modification times of the weight
/// files (hashing gigabytes of weights would cost as much as exporting). A file's absence counts too.
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
        // 1) the small files by content, each after its name and length, so no two file sets hash alike
        foreach (string name in SmallInputs())
        {
            string path = SharedTokenizer.Find(checkpointDir, name);   // a shared tokenizer counts as the checkpoint's own
            bool exists = File.Exists(path);
            byte[] bytes = exists ? File.ReadAllBytes(path) : [];
            Append(sha, $"\n{name}\t{(exists ? bytes.Length : -1)}\n");
            sha.AppendData(bytes);
        }

        // 2) the weights by name, size and modification time
        var files = SafeTensorsReader.WeightFiles(checkpointDir).ToList();
        string index = Path.Combine(checkpointDir, SafeTensorsReader.IndexFileName);
        if (File.Exists(index) && !files.Any(f => Path.GetFileName(f) == SafeTensorsReader.SingleFileName)) files.Insert(0, index);
        foreach (string file in files)
        {
            var info = new FileInfo(file);
            Append(sha, string.Create(CultureInfo.InvariantCulture, $"\n{info.Name}\t{info.Length}\t{info.LastWriteTimeUtc.Ticks}"));
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    /// <summary>The non-weight files an export reads: config.json and the files it copies (generation_config.json among them).</summary>
    private static IEnumerable<string> SmallInputs() => CheckpointExporter.TokenizerFileNames.Prepend("config.json");

    private static void Append(IncrementalHash sha, string text) => sha.AppendData(Encoding.UTF8.GetBytes(text));
}
