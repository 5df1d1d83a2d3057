using System.Text;

namespace Condensa.Tokenization;

/// <summary>
/// The parts of a SentencePiece tokenizer.model (a sentencepiece_model.proto ModelProto) that decoding needs
/// and Microsoft.ML.Tokenizers does not expose: each piece's text and type, and add_dummy_prefix. Reads the
/// protobuf wire format directly; also writes the same model with add_dummy_prefix off, which encodes text
/// that follows an added token (Hugging Face's legacy=false behaviour).
/// </summary>
internal sealed class SentencePieceModelFile
{
    public enum PieceType { Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6 }

    private const int ModelPiecesField = 1, ModelTrainerSpecField = 2, ModelNormalizerSpecField = 3;
    private const int PieceTextField = 1, PieceScoreField = 2, PieceTypeField = 3;
    private const int TrainerModelTypeField = 3;
    private const int NormalizerCharsMapField = 2, NormalizerAddDummyPrefixField = 3;
    private const int NormalizerRemoveExtraWhitespacesField = 4, NormalizerEscapeWhitespacesField = 5;

    private readonly byte[] _data;

    private SentencePieceModelFile(byte[] data, List<(string Text, float Score, PieceType Type)> pieces, bool addDummyPrefix,
                                   bool removeExtraWhitespaces, bool escapeWhitespaces, bool hasCharsMap, int modelType)
    {
        _data = data;
        Pieces = pieces;
        AddDummyPrefix = addDummyPrefix;
        RemoveExtraWhitespaces = removeExtraWhitespaces;
        EscapeWhitespaces = escapeWhitespaces;
        HasCharsMap = hasCharsMap;
        ModelType = modelType;
    }

    public IReadOnlyList<(string Text, float Score, PieceType Type)> Pieces { get; }

    public bool RemoveExtraWhitespaces { get; }

    public bool EscapeWhitespaces { get; }

    /// <summary>Whether normalizer_spec carries a precompiled character map (nmt_nfkc and the like; identity has none).</summary>
    public bool HasCharsMap { get; }

    public bool AddDummyPrefix { get; }

    /// <summary>trainer_spec.model_type: 1 unigram (the default), 2 BPE, 3 word, 4 char.</summary>
    public int ModelType { get; }

    public static SentencePieceModelFile Parse(byte[] data, string path)
    {
        try
        {
            var pieces = new List<(string, float, PieceType)>();
            bool addDummyPrefix = true, removeExtraWhitespaces = true, escapeWhitespaces = true, hasCharsMap = false;
            int modelType = 1;
            foreach (var f in Fields(data))
            {
                if (f.Field == ModelPiecesField && f.Wire == 2)
                {
                    string text = "";
                    float score = 0;
                    var type = PieceType.Normal;
                    foreach (var p in Fields(data.AsMemory(f.Start, f.Length)))
                    {
                        if (p.Field == PieceTextField && p.Wire == 2)
                            text = Encoding.UTF8.GetString(data, f.Start + p.Start, p.Length);
                        else if (p.Field == PieceScoreField && p.Wire == 5)
                            score = BitConverter.ToSingle(data, f.Start + p.Start);
                        else if (p.Field == PieceTypeField && p.Wire == 0)
                            type = (PieceType)p.Value;
                    }
                    pieces.Add((text, score, type));
                }
                else if (f.Field == ModelNormalizerSpecField && f.Wire == 2)
                {
                    foreach (var n in Fields(data.AsMemory(f.Start, f.Length)))
                    {
                        if (n.Field == NormalizerAddDummyPrefixField && n.Wire == 0)
                            addDummyPrefix = n.Value != 0;
                        else if (n.Field == NormalizerRemoveExtraWhitespacesField && n.Wire == 0)
                            removeExtraWhitespaces = n.Value != 0;
                        else if (n.Field == NormalizerEscapeWhitespacesField && n.Wire == 0)
                            escapeWhitespaces = n.Value != 0;
                        else if (n.Field == NormalizerCharsMapField && n.Wire == 2)
                            hasCharsMap = n.Length > 0;
                    }
                }
                else if (f.Field == ModelTrainerSpecField && f.Wire == 2)
                {
                    foreach (var t in Fields(data.AsMemory(f.Start, f.Length)))
                        if (t.Field == TrainerModelTypeField && t.Wire == 0)
                            modelType = (int)t.Value;
                }
            }
            if (pieces.Count == 0)
                throw new TokenizerLoadException($"{path}: a SentencePiece model with no pieces.");
            return new SentencePieceModelFile(data, pieces, addDummyPrefix, removeExtraWhitespaces, escapeWhitespaces, hasCharsMap, modelType);
        }
        catch (Exception e) when (e is FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException or ArgumentException)
        {
            throw new TokenizerLoadException($"{path}: not a SentencePiece model (malformed protobuf: {e.Message}).", e);
        }
    }

    /// <summary>The model bytes with normalizer_spec.add_dummy_prefix set to false.</summary>
    public byte[] WithoutDummyPrefix()
    {
        var output = new MemoryStream(_data.Length + 8);
        byte[]? normalizer = null;
        foreach (var f in Fields(_data))
        {
            if (f.Field == ModelNormalizerSpecField && f.Wire == 2)
            {
                var spec = new MemoryStream();
                foreach (var n in Fields(_data.AsMemory(f.Start, f.Length)))
                    if (n.Field != NormalizerAddDummyPrefixField)
                        spec.Write(_data, f.Start + n.TagStart, n.End - n.TagStart);
                normalizer = spec.ToArray();
            }
            else
            {
                output.Write(_data, f.TagStart, f.End - f.TagStart);
            }
        }
        var tail = new MemoryStream();
        tail.Write(normalizer ?? []);
        WriteVarint(tail, (NormalizerAddDummyPrefixField << 3) | 0);
        WriteVarint(tail, 0);
        WriteVarint(output, (ModelNormalizerSpecField << 3) | 2);
        WriteVarint(output, (ulong)tail.Length);
        tail.WriteTo(output);
        return output.ToArray();
    }

    private readonly record struct WireField(int Field, int Wire, ulong Value, int TagStart, int Start, int Length, int End);

    /// <summary>Top-level fields of one message; Start/Length locate a length-delimited payload relative to the message.</summary>
    private static List<WireField> Fields(ReadOnlyMemory<byte> message)
    {
        var span = message.Span;
        var fields = new List<WireField>();
        int pos = 0;
        while (pos < span.Length)
        {
            int tagStart = pos;
            ulong tag = ReadVarint(span, ref pos);
            int field = (int)(tag >> 3), wire = (int)(tag & 7);
            switch (wire)
            {
                case 0:
                    ulong value = ReadVarint(span, ref pos);
                    fields.Add(new WireField(field, wire, value, tagStart, pos, 0, pos));
                    break;
                case 1:
                    pos += 8;
                    fields.Add(new WireField(field, wire, 0, tagStart, pos - 8, 8, pos));
                    break;
                case 5:
                    pos += 4;
                    fields.Add(new WireField(field, wire, 0, tagStart, pos - 4, 4, pos));
                    break;
                case 2:
                    int length = checked((int)ReadVarint(span, ref pos));
                    if (length < 0 || pos + length > span.Length)
                        throw new FormatException($"field {field} runs past the end of its message");
                    fields.Add(new WireField(field, wire, 0, tagStart, pos, length, pos + length));
                    pos += length;
                    break;
                default:
                    throw new FormatException($"unsupported wire type {wire} in field {field}");
            }
            if (pos > span.Length)
                throw new FormatException("truncated message");
        }
        return fields;
    }

    private static ulong ReadVarint(ReadOnlySpan<byte> span, ref int pos)
    {
        ulong result = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (pos >= span.Length)
                throw new FormatException("truncated varint");
            byte b = span[pos++];
            result |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
                return result;
        }
        throw new FormatException("varint longer than 10 bytes");
    }

    private static void WriteVarint(Stream stream, ulong value)
    {
        while (value >= 0x80)
        {
            stream.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }
        stream.WriteByte((byte)value);
    }

    private static void WriteVarint(Stream stream, int value) => WriteVarint(stream, (ulong)value);
}
