using System.Text.Json;

namespace Condensa.Export;

/// <summary>
/// Reads the weights of a Hugging Face checkpoint folder: a single <c>model.safetensors</c>, or the shards
/// listed in <c>model.safetensors.index.json</c>. Files are memory-mapped; each tensor is decoded on request
/// to float32 (from F32, F16 or BF16), so a whole model is never held twice.
/// </summary>
public sealed class SafeTensorsReader : IDisposable
{
    /// <summary>The single-file weights name.</summary>
    public const string SingleFileName = "model.safetensors";
    /// <summary>The sharded weights index name.</summary>
    public const string IndexFileName = "model.safetensors.index.json";

    private readonly List<SafeTensorsFile> _files;
    private readonly Dictionary<string, (SafeTensorsFile File, SafeTensorInfo Info)> _tensors = [];

    private SafeTensorsReader(List<SafeTensorsFile> files)
    {
        _files = files;
        foreach (var file in files)
            foreach (var (name, info) in file.Tensors)
                _tensors[name] = (file, info);
    }

    /// <summary>Names of all tensors in the checkpoint.</summary>
    public IReadOnlyCollection<string> TensorNames => _tensors.Keys;

    /// <summary>Opens the weights of <paramref name="checkpointDir"/>.</summary>
    /// <exception cref="ExportException">Neither weights file exists, a shard is missing, or a file is malformed.</exception>
    public static SafeTensorsReader Open(string checkpointDir)
    {
        var paths = WeightFiles(checkpointDir);
        var files = new List<SafeTensorsFile>();
        try
        {
            foreach (string path in paths) files.Add(new SafeTensorsFile(path));
            return new SafeTensorsReader(files);
        }
        catch
        {
            foreach (var f in files) f.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The .safetensors files of a checkpoint: <c>model.safetensors</c>, else the distinct shards named by
    /// the index's <c>weight_map</c>.
    /// </summary>
    /// <exception cref="ExportException">No weights, or the index names a shard that does not exist.</exception>
    public static IReadOnlyList<string> WeightFiles(string checkpointDir)
    {
        string single = Path.Combine(checkpointDir, SingleFileName);
        if (File.Exists(single)) return [single];
        string index = Path.Combine(checkpointDir, IndexFileName);
        if (!File.Exists(index))
            throw new ExportException($"Missing weights in '{checkpointDir}': neither {SingleFileName} nor {IndexFileName} exists.");

        var shards = new SortedSet<string>(StringComparer.Ordinal);
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(index));
            if (!doc.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw new ExportException($"'{index}': field 'weight_map' is missing.");
            foreach (var entry in map.EnumerateObject())
                shards.Add(entry.Value.GetString() ?? throw new ExportException($"'{index}': weight_map['{entry.Name}'] is not a string."));
        }
        catch (JsonException e)
        {
            throw new ExportException($"'{index}' is not valid JSON: {e.Message}", e);
        }
        var paths = shards.Select(s => Path.Combine(checkpointDir, s)).ToList();
        foreach (string p in paths)
            if (!File.Exists(p)) throw new ExportException($"Missing weights shard '{p}' named by '{index}'.");
        return paths;
    }

    /// <summary>Whether the checkpoint has a tensor of this name.</summary>
    public bool Contains(string name) => _tensors.ContainsKey(name);

    /// <summary>Dtype, shape and location of a tensor.</summary>
    /// <exception cref="ExportException">No tensor has this name.</exception>
    public SafeTensorInfo Info(string name) => Find(name).Info;

    /// <summary>Decodes a tensor to a float32 array in row-major order.</summary>
    /// <exception cref="ExportException">No tensor has this name.</exception>
    public float[] ReadFloat32(string name)
    {
        var (file, info) = Find(name);
        return file.ReadFloat32(info);
    }

    private (SafeTensorsFile File, SafeTensorInfo Info) Find(string name) =>
        _tensors.TryGetValue(name, out var t)
            ? t
            : throw new ExportException($"Missing tensor '{name}' in the weights ({string.Join(", ", _files.Select(f => Path.GetFileName(f.Path)))}).");

    /// <summary>Unmaps the weight files.</summary>
    public void Dispose()
    {
        foreach (var f in _files) f.Dispose();
    }
}
