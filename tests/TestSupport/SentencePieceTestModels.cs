using System.IO.Compression;
using System.Text.Json.Nodes;

namespace Condensa.TestSupport;

/// <summary>
/// The SentencePiece models of tests/TestData/tokenizers/sp_norm (tools/tokenizers/make_sp_normalizer_golden.py): per case
/// a model.base and golden.json; nmt_nfkc / nfkc models share a character map kept once, gzipped, which
/// <see cref="ModelBytes"/> appends to the base as a second normalizer_spec (protobuf merges it into the first).
/// </summary>
public static class SentencePieceTestModels
{
    /// <summary>tests/TestData/tokenizers/sp_norm.</summary>
    public static string Root => Path.Combine(RepositoryPaths.TestData, "tokenizers", "sp_norm");

    /// <summary>The case's golden table.</summary>
    public static JsonObject Golden(string name) => (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(Root, name, "golden.json")))!;

    /// <summary>The case's full tokenizer.model bytes: model.base, plus its shared character map where it has one.</summary>
    public static byte[] ModelBytes(string name)
    {
        byte[] model = File.ReadAllBytes(Path.Combine(Root, name, "model.base"));
        if ((string?)Golden(name)["charsmap"] is not { } charsMapFile)
            return model;
        using var gzip = new GZipStream(File.OpenRead(Path.Combine(Root, "charsmaps", charsMapFile)), CompressionMode.Decompress);
        using var charsMap = new MemoryStream();
        gzip.CopyTo(charsMap);

        // ModelProto field 3 (normalizer_spec) holding only field 2 (precompiled_charsmap).
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

    private static void WriteVarint(Stream stream, ulong value)
    {
        for (; value >= 0x80; value >>= 7)
            stream.WriteByte((byte)(value | 0x80));
        stream.WriteByte((byte)value);
    }
}
