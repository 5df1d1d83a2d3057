using System.Text;
using System.Text.Json;

namespace Condensa.Cli.Tests;

/// <summary>Inputs, templates and parsed outputs of <c>condensa extract</c> runs, in a temporary folder per job.</summary>
internal sealed class ExtractFiles
{
    public ExtractFiles()
    {
        Folder = Directory.CreateTempSubdirectory("condensa-extract-").FullName;
        Template = System.IO.Path.Combine(Folder, "template.txt");
        File.WriteAllText(Template, "Document {{id}}:\n{{text}}\nSummary:");
    }

    public string Folder { get; }
    public string Template { get; }

    public string Path(string name) => System.IO.Path.Combine(Folder, name);

    /// <summary>Writes <paramref name="count"/> JSONL documents of varied length (some longer than a small prefill chunk).</summary>
    public string Documents(int count, string name = "docs.jsonl")
    {
        var lines = Enumerable.Range(0, count).Select(i =>
            JsonSerializer.Serialize(new { id = $"doc-{i}", text = string.Concat(Enumerable.Repeat($"item {i} costs {i * 7 % 13} ", 1 + i % 5)) }));
        var path = Path(name);
        File.WriteAllLines(path, lines);
        return path;
    }

    /// <summary>Writes raw lines (bytes, so a line can be invalid UTF-8).</summary>
    public string Lines(string name, params byte[][] lines)
    {
        var path = Path(name);
        using var file = File.Create(path);
        foreach (var line in lines) { file.Write(line); file.WriteByte((byte)'\n'); }
        return path;
    }

    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    /// <summary>The output records, in file order.</summary>
    public static List<JsonElement> Records(string output) =>
        [.. File.ReadAllLines(output).Where(l => l.Length > 0).Select(l => JsonDocument.Parse(l).RootElement.Clone())];

    /// <summary>Output records by their input key ("line N" / "file P"), failing on a duplicate.</summary>
    public static Dictionary<string, JsonElement> ByKey(string output)
    {
        var byKey = new Dictionary<string, JsonElement>();
        foreach (var record in Records(output))
        {
            var key = record.TryGetProperty("line", out var line) ? $"line {line.GetInt32()}" : $"file {record.GetProperty("file").GetString()}";
            Assert.IsTrue(byKey.TryAdd(key, record), $"{output}: {key} appears twice");
        }
        return byKey;
    }

    /// <summary>What must be equal between two runs of one record: id, text, counts, finish reason or error (not timing).</summary>
    public static string Content(JsonElement record) =>
        record.TryGetProperty("error", out var error)
            ? $"{Id(record)} error {error.GetString()}"
            : $"{Id(record)} {record.GetProperty("finish_reason").GetString()} {record.GetProperty("prompt_tokens").GetInt32()} " +
              $"{record.GetProperty("generated_tokens").GetInt32()} {record.GetProperty("text").GetString()}";

    public static string? Id(JsonElement record) => record.GetProperty("id").ValueKind == JsonValueKind.Null ? null : record.GetProperty("id").GetString();

    public static void AssertSameRecords(string expectedOutput, string actualOutput)
    {
        var expected = ByKey(expectedOutput);
        var actual = ByKey(actualOutput);
        CollectionAssert.AreEquivalent(expected.Keys.ToArray(), actual.Keys.ToArray());
        foreach (var (key, record) in expected) Assert.AreEqual(Content(record), Content(actual[key]), key);
    }
}
