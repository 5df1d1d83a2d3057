using System.Text;
using System.Text.Json;

namespace Condensa.Cli.Extraction;

/// <summary>
/// Reads the records of an extraction job, lazily and in a fixed order: the lines of a JSONL file (one JSON object per
/// line with an "id"; blank lines are skipped), or the files of a folder sorted by relative path (id = that path,
/// field "text" = the contents). A line that is not UTF-8, not a JSON object, has no id, or repeats an earlier id
/// becomes an error record naming its line; the job goes on.
/// </summary>
internal static class InputReader
{
    private static readonly byte[] Utf8Bom = [0xEF, 0xBB, 0xBF];
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Records of <paramref name="path"/> (a JSONL file or a folder).</summary>
    public static IEnumerable<InputRecord> Read(string path)
    {
        if (Directory.Exists(path)) return ReadFolder(path);
        if (File.Exists(path)) return ReadJsonLines(path);
        throw new IOException($"{path}: --input is neither a JSONL file nor a folder.");
    }

    private static IEnumerable<InputRecord> ReadJsonLines(string path)
    {
        var firstLineOfId = new Dictionary<string, int>(StringComparer.Ordinal);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        var line = 0;
        foreach (var bytes in ByteLines.Read(stream))
        {
            line++;
            if (bytes.AsSpan().Trim(" \t"u8).IsEmpty) continue;
            var record = ParseLine(path, line, bytes);
            if (record.Id is { } id && record.Error is null)
            {
                if (firstLineOfId.TryGetValue(id, out var first))
                    record = record with { Fields = null, Error = $"{path}:{line}: duplicate id '{id}' (first on line {first})." };
                else
                    firstLineOfId[id] = line;
            }
            yield return record;
        }
    }

    private static InputRecord ParseLine(string path, int line, byte[] bytes)
    {
        InputRecord Fail(string? id, string error) => new(line - 1, line, null, id, null, $"{path}:{line}: {error}");
        if (line == 1 && bytes.AsSpan().StartsWith(Utf8Bom)) bytes = bytes[Utf8Bom.Length..];
        string text;
        try
        {
            text = StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException e)
        {
            return Fail(null, $"not valid UTF-8 (byte {e.Index} of the line).");
        }
        JsonElement root;
        try
        {
            using var document = JsonDocument.Parse(text);
            root = document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            return Fail(null, $"not valid JSON ({e.Message}).");
        }
        if (root.ValueKind != JsonValueKind.Object) return Fail(null, $"expected a JSON object, found {root.ValueKind}.");
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var property in root.EnumerateObject())
            fields[property.Name] = property.Value.ValueKind switch
            {
                JsonValueKind.String => property.Value.GetString()!,
                JsonValueKind.Null => "",
                _ => property.Value.GetRawText(),
            };
        if (!root.TryGetProperty("id", out var idValue) || idValue.ValueKind is not (JsonValueKind.String or JsonValueKind.Number))
            return Fail(null, "field \"id\" (a string or number) is missing.");
        var id = fields["id"];
        return new InputRecord(line - 1, line, null, id, fields, null);
    }

    private static IEnumerable<InputRecord> ReadFolder(string folder)
    {
        var files = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(folder, f).Replace('\\', '/'))
            .Where(f => !f.Split('/').Any(part => part.StartsWith('.')))
            .Order(StringComparer.Ordinal)
            .ToArray();
        for (var i = 0; i < files.Length; i++)
        {
            var file = files[i];
            var (text, error) = ReadText(Path.Combine(folder, file));
            if (text is null)
            {
                yield return new InputRecord(i, null, file, file, null, error);
                continue;
            }
            if (text.Length > 0 && text[0] == '\uFEFF') text = text[1..];
            yield return new InputRecord(i, null, file, file, new Dictionary<string, string> { ["id"] = file, ["text"] = text }, null);
        }
    }

    private static (string? Text, string? Error) ReadText(string path)
    {
        try
        {
            return (StrictUtf8.GetString(File.ReadAllBytes(path)), null);
        }
        catch (DecoderFallbackException e)
        {
            return (null, $"{path}: not valid UTF-8 (byte {e.Index}).");
        }
    }
}
