using System.IO.Compression;
using System.Text.Json.Nodes;

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

    private static string Root => GoldenFiles.Dir("sp_norm");

    public static JsonObject Golden(string name) =>
        (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(Root, name, "golden.json")))!;

    public static IEnumerable<(string Text, int[] Ids, string[] Pieces, string Decoded)> Rows(string name) =>
        Golden(name)["rows"]!.AsArray().Select(row => (
            (string)row!["text"]!,
            row["ids"]!.AsArray().Select(x => (int)x!).ToArray(),
            row["pieces"]!.AsArray().Select(x => (string)x!).ToArray(),
            (string)row["decoded"]!));

    /// <summary>The case's full tokenizer.model bytes: model.base, plus its shared character map where it has one.</summary>
    public static byte[] ModelBytes(string name)
    {
        byte[] model = File.ReadAllBytes(Path.Combine(Root, name, "model.base"));
        if ((string?)Golden(name)["charsmap"] is not { } charsMapFile)
            return model;
        using var gzip = new GZipStream(File.OpenRead(Path.Combine(Root, "charsmaps", charsMapFile)), CompressionMode.Decompress);
        using var charsMap = new MemoryStream();
        gzip.CopyTo(charsMap);

        // ModelProto field 3 (normalizer_spec) holding only field 2 (precompiled_charsmap); protobuf merges it into the first.
        var spec = new MemoryStream();
        spec.WriteByte(0x12);
        WriteVarint(spec, (ulong)charsMap.Length);
        charsMap.WriteTo(spec);
        var output = new MemoryStream();
        output.Write(model);
        output.WriteByte(0x1A);
        WriteVarint(output, (ulong)spec.Length);
        spec.WriteTo(output);
        return output.ToArray();
    }

    /// <summary>Writes the case's tokenizer.model into <paramref name="dir"/> (a checkpoint folder with nothing else).</summary>
    public static string WriteCheckpoint(string name, string dir)
    {
        File.WriteAllBytes(Path.Combine(dir, "tokenizer.model"), ModelBytes(name));
        return dir;
    }

    private static void WriteVarint(Stream stream, ulong value)
    {
        for (; value >= 0x80; value >>= 7)
            stream.WriteByte((byte)(value | 0x80));
        stream.WriteByte((byte)value);
    }
}
