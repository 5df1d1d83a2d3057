using System.Text.Json.Nodes;

namespace Condensa.Tokenization.Tests;

/// <summary>The tokenizer folders and golden tables of tests/TestData/tokenizers (made by tools/tokenizers/make_golden.py).</summary>
internal static class GoldenFiles
{
    private static readonly Lazy<string> Root = new(FindRoot);

    /// <summary>Every tokenizer folder with a golden table, as MSTest rows ([DynamicData] of the round-trip tests).</summary>
    public static IEnumerable<object[]> All =>
        [["llama3_bpe"], ["qwen2_bpe"], ["gpt2_files"], ["tiktoken_files"], ["sp_llama2"], ["sp_code"]];

    public static string Dir(string name) => Path.Combine(Root.Value, name);

    public static JsonObject Golden(string name) =>
        (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(Root.Value, name, "golden.json")))!;

    /// <summary>Golden rows: the text, the reference ids (with BOS where the tokenizer adds it) and decodes.</summary>
    public static IEnumerable<GoldenRow> Rows(string name)
    {
        foreach (var row in Golden(name)["rows"]!.AsArray())
        {
            yield return new GoldenRow(
                (string)row!["text"]!,
                row["ids"]!.AsArray().Select(x => (int)x!).ToArray(),
                row["ids_no_special"]!.AsArray().Select(x => (int)x!).ToArray(),
                (string)row["decoded"]!,
                (string?)row["decoded_keep_special"],
                row["hf_ids"]?.AsArray().Select(x => (int)x!).ToArray());
        }
    }

    /// <summary>A scratch folder deleted when disposed.</summary>
    public static TempDir Temp() => new();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "tests", "TestData", "tokenizers");
            if (Directory.Exists(candidate))
                return candidate;
        }
        throw new DirectoryNotFoundException("tests/TestData/tokenizers not found above " + AppContext.BaseDirectory);
    }
}

internal sealed record GoldenRow(string Text, int[] Ids, int[] IdsNoSpecial, string Decoded, string? DecodedKeepSpecial, int[]? HfIds);

internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "condensa-tok-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name, string text)
    {
        string path = System.IO.Path.Combine(Path, name);
        System.IO.File.WriteAllText(path, text);
        return path;
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}
