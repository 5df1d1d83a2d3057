using System.Text.Encodings.Web;
using System.Text.Json;
using Condensa.Runtime.Batching;
using Condensa.Runtime.Generation;

namespace Condensa.Cli.Extraction;

/// <summary>The output line of one input record: keyed by its id and its place in the input ("line" or "file"), with
/// the generated text, token counts and timing, or the error that stopped it.</summary>
internal static class ExtractionRecord
{
    // Output is a data file, not HTML: keep non-ASCII text readable instead of \u-escaping it.
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static byte[] Success(InputRecord record, BatchResult result, string text) => Write(record, w =>
    {
        w.WriteString("text", text);
        w.WriteString("finish_reason", result.FinishReason == FinishReason.Stop ? "stop" : "length");
        w.WriteNumber("prompt_tokens", result.PromptTokens);
        w.WriteNumber("generated_tokens", result.Tokens.Count);
        w.WriteNumber("elapsed_ms", Math.Round(result.Elapsed.TotalMilliseconds, 1));
    });

    public static byte[] Error(InputRecord record, string error) => Write(record, w => w.WriteString("error", error));

    private static byte[] Write(InputRecord record, Action<Utf8JsonWriter> body)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, Options))
        {
            w.WriteStartObject();
            if (record.Id is null) w.WriteNull("id"); else w.WriteString("id", record.Id);
            if (record.Line is { } line) w.WriteNumber("line", line); else w.WriteString("file", record.File);
            body(w);
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }
}
