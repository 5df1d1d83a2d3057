using System.Text.Json;
using System.Text.Json.Serialization;

namespace Condensa.Runtime;

/// <summary>One model of the catalog (models.json): where its checkpoint is and how to run it by default.</summary>
public sealed record CatalogEntry
{
    /// <summary>Name used on the command line (<c>--model NAME</c>).</summary>
    [JsonPropertyName("name")] public string Name { get; init; } = "";

    /// <summary>Hugging Face checkpoint folder, relative to the catalog file.</summary>
    [JsonPropertyName("checkpoint")] public string Checkpoint { get; init; } = "";

    /// <summary>Architecture the checkpoint declares (informational; the exporter reads config.json).</summary>
    [JsonPropertyName("architecture")] public string? Architecture { get; init; }

    /// <summary>One line for <c>condensa models</c>.</summary>
    [JsonPropertyName("description")] public string? Description { get; init; }

    /// <summary>Catalog name of the model that drafts for this one in speculative decoding.</summary>
    [JsonPropertyName("draft")] public string? Draft { get; init; }

    /// <summary>Generation defaults a command line can override.</summary>
    [JsonPropertyName("defaults")] public CatalogDefaults Defaults { get; init; } = new();

    /// <summary>Absolute checkpoint path, resolved against the catalog's folder.</summary>
    [JsonIgnore] public string CheckpointPath { get; internal set; } = "";
}

/// <summary>Per-model generation defaults.</summary>
public sealed record CatalogDefaults
{
    /// <summary>Default --max-tokens.</summary>
    [JsonPropertyName("max_tokens")] public int? MaxTokens { get; init; }

    /// <summary>Default --temperature.</summary>
    [JsonPropertyName("temperature")] public float? Temperature { get; init; }

    /// <summary>Default --top-p.</summary>
    [JsonPropertyName("top_p")] public float? TopP { get; init; }

    /// <summary>Default execution provider.</summary>
    [JsonPropertyName("provider")] public string? Provider { get; init; }
}

/// <summary>The model catalog, models.json: names mapped to checkpoints, defaults and draft pairings.</summary>
public sealed class ModelCatalog
{
    /// <summary>File name searched for.</summary>
    public const string FileName = "models.json";

    private ModelCatalog(string path, IReadOnlyList<CatalogEntry> entries) => (Path, Entries) = (path, entries);

    /// <summary>The catalog file.</summary>
    public string Path { get; }

    /// <summary>Every model, in file order.</summary>
    public IReadOnlyList<CatalogEntry> Entries { get; }

    /// <summary>Reads a catalog file and checks names are unique and drafts exist.</summary>
    public static ModelCatalog Load(string path)
    {
        if (!File.Exists(path)) throw new CondensaException($"{path}: model catalog not found.");
        CatalogFile? file;
        try
        {
            file = JsonSerializer.Deserialize<CatalogFile>(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new CondensaException($"{path}: malformed JSON ({e.Message}).", e);
        }
        var entries = file?.Models ?? throw new CondensaException($"{path}: field 'models' is missing.");
        var folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < entries.Length; i++)
        {
            var e = entries[i];
            if (string.IsNullOrWhiteSpace(e.Name)) throw new CondensaException($"{path}: models[{i}] has no 'name'.");
            if (!names.Add(e.Name)) throw new CondensaException($"{path}: model name '{e.Name}' appears twice.");
            if (string.IsNullOrWhiteSpace(e.Checkpoint)) throw new CondensaException($"{path}: model '{e.Name}' has no 'checkpoint'.");
            CheckDefaults(path, e);
            e.CheckpointPath = System.IO.Path.GetFullPath(System.IO.Path.Combine(folder, e.Checkpoint));
        }
        foreach (var e in entries)
            if (e.Draft is not null && !names.Contains(e.Draft))
                throw new CondensaException($"{path}: model '{e.Name}' names draft '{e.Draft}', which is not in the catalog.");
        return new ModelCatalog(path, entries);
    }

    // Defaults are checked here, naming the file and field, rather than later by the sampler in its own C# terms.
    private static void CheckDefaults(string path, CatalogEntry e)
    {
        var d = e.Defaults ?? throw new CondensaException($"{path}: model '{e.Name}' has 'defaults': null.");
        string? problem =
            d.MaxTokens is < 1 ? $"defaults.max_tokens {d.MaxTokens} must be at least 1"
            : d.Temperature is { } t && !(t >= 0) ? $"defaults.temperature {t} must be at least 0"
            : d.TopP is { } p && !(p > 0 && p <= 1) ? $"defaults.top_p {p} must be above 0 and at most 1"
            : null;
        if (problem is not null) throw new CondensaException($"{path}: model '{e.Name}': {problem}.");
    }

    /// <summary>
    /// Finds models.json: an explicit path, else $CONDENSA_MODELS, else the current folder and its parents,
    /// else the folder of the executable and its parents. Null when there is none.
    /// </summary>
    public static string? Locate(string? explicitPath = null)
    {
        if (explicitPath is not null) return explicitPath;
        if (Environment.GetEnvironmentVariable("CONDENSA_MODELS") is { Length: > 0 } env) return env;
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = System.IO.Path.Combine(dir.FullName, FileName);
                if (File.Exists(candidate)) return candidate;
            }
        return null;
    }

    /// <summary>The entry called <paramref name="name"/>; the error lists the names that exist.</summary>
    public CatalogEntry Get(string name) =>
        Entries.FirstOrDefault(e => e.Name == name)
        ?? throw new CondensaException($"Model '{name}' is not in {Path} (known: {string.Join(", ", Entries.Select(e => e.Name))}).");

    private sealed record CatalogFile
    {
        [JsonPropertyName("models")] public CatalogEntry[]? Models { get; init; }
    }
}
