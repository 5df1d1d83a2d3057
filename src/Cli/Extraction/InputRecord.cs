namespace Condensa.Cli.Extraction;

/// <summary>
/// One record of the input: a JSONL line or a file of a folder. Either it has fields for the prompt template, or an
/// error saying why it cannot be used (it still gets an output record). <see cref="Key"/> names its place in the
/// input ("line 12", "file a.txt"): the output records carry it, and <c>--resume</c> skips the keys already written.
/// </summary>
/// <param name="Ordinal">0-based line or file index; sharding splits on it.</param>
/// <param name="Line">1-based line number (JSONL input), else null.</param>
/// <param name="File">Path relative to the input folder (folder input), else null.</param>
/// <param name="Id">The record's id ("id" field, or the file's relative path); null when unreadable.</param>
/// <param name="Fields">Template fields by name; null when <paramref name="Error"/> is set.</param>
/// <param name="Error">Why the record cannot run, or null.</param>
internal sealed record InputRecord(long Ordinal, int? Line, string? File, string? Id, IReadOnlyDictionary<string, string>? Fields, string? Error)
{
    /// <summary>Its place in the input, unique within one input: "line N" or "file PATH".</summary>
    public string Key => Line is { } line ? LineKey(line) : FileKey(File!);

    public static string LineKey(long line) => $"line {line}";

    public static string FileKey(string file) => $"file {file}";
}
