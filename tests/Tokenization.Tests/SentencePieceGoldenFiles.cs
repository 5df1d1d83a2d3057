using System.Text.Json.Nodes;
using Condensa.TestSupport;

namespace Condensa.Tokenization.Tests;

/// <summary>
/// The normalizer-spec cases of tests/TestData/tokenizers/sp_norm (made by tools/tokenizers/make_sp_normalizer_golden.py
/// with sentencepiece): per case a model.base, golden.json with sentencepiece's ids and decodes, and for nmt_nfkc / nfkc
/// models a shared character map that <see cref="WriteCheckpoint"/> appends as a second normalizer_spec.
/// </summary>
internal static class SentencePieceGoldenFiles
{
    public static IEnumerable<object[]> Cases =>
        Directory.GetDirectories(Root).Select(Path.GetFileName).Where(n => n != "charsmaps").Order().Select(n => new object[] { n! });

    private static string Root => SentencePieceTestModels.Root;

    public static JsonObject Golden(string name) =>
        (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(Root, name, "golden.json")))!;

    public static IEnumerable<(string Text, int[] Ids, string[] Pieces, string Decoded)> Rows(string name) =>
        Golden(name)["rows"]!.AsArray().Select(row => (
            (string)row!["text"]!,
            row["ids"]!.AsArray().Select(x => (int)x!).ToArray(),
            row["pieces"]!.AsArray().Select(x => (string)x!).ToArray(),
            (string)row["decoded"]!));

    /// <summary>The case's full tokenizer.model bytes: model.base, plus its shared character map where it has one.</summary>
    public static byte[] ModelBytes(string name) => SentencePieceTestModels.ModelBytes(name);

    /// <summary>Writes the case's tokenizer.model into <paramref name="dir"/> (a checkpoint folder with nothing else).</summary>
    public static string WriteCheckpoint(string name, string dir)
    {
        File.WriteAllBytes(Path.Combine(dir, "tokenizer.model"), ModelBytes(name));
        return dir;
    }
}
