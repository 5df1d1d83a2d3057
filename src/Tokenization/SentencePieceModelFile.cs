using System.Text;

namespace Condensa.Tokenization;

/// <summary>
/// What Condensa reads of a SentencePiece tokenizer.model (a sentencepiece_model.proto ModelProto): each piece's
/// text, score and type, the normalizer and denormalizer specs, and the trainer_spec fields that change encoding.
/// Reads the protobuf wire format directly. A message field that occurs twice is merged as protobuf does (later
/// scalar values win), so a model with a normalizer_spec appended after the fact reads as sentencepiece reads it.
/// </summary>
internal sealed class SentencePieceModelFile
{
    public enum PieceType { Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6 }

    /// <summary>trainer_spec.model_type values.</summary>
    public enum Algorithm { Unigram = 1, Bpe = 2, Word = 3, Char = 4 }

    private const int ModelPiecesField = 1, ModelTrainerSpecField = 2, ModelNormalizerSpecField = 3, ModelDenormalizerSpecField = 5;
    private const int PieceTextField = 1, PieceScoreField = 2, PieceTypeField = 3;
    private const int TrainerModelTypeField = 3, TrainerWhitespaceAsSuffixField = 24, TrainerByteFallbackField = 35;
    private const int TrainerBosIdField = 41, TrainerEosIdField = 42;
    private const int NormalizerNameField = 1, NormalizerCharsMapField = 2, NormalizerAddDummyPrefixField = 3;
    private const int NormalizerRemoveExtraWhitespacesField = 4, NormalizerEscapeWhitespacesField = 5;

    private SentencePieceModelFile(string path) => Path = path;

    /// <summary>The file the model was read from, for messages.</summary>
    public string Path { get; }

    public IReadOnlyList<(string Text, float Score, PieceType Type)> Pieces { get; private set; } = [];

    /// <summary>normalizer_spec (defaults when absent).</summary>
    public SentencePieceNormalizerSpec Normalizer { get; private set; } = SentencePieceNormalizerSpec.Default;

    /// <summary>denormalizer_spec, null when absent or without a character map (sentencepiece then skips it).</summary>
    public SentencePieceNormalizerSpec? Denormalizer { get; private set; }

    public bool AddDummyPrefix => Normalizer.AddDummyPrefix;

    public bool RemoveExtraWhitespaces => Normalizer.RemoveExtraWhitespaces;

    /// <summary>trainer_spec.model_type.</summary>
    public Algorithm ModelType { get; private set; } = Algorithm.Unigram;

    /// <summary>trainer_spec.treat_whitespace_as_suffix: '▁' ends a word instead of opening it.</summary>
    public bool TreatWhitespaceAsSuffix { get; private set; }

    /// <summary>trainer_spec.byte_fallback: characters outside the vocabulary become &lt;0xXX&gt; byte pieces, not &lt;unk&gt;.</summary>
    public bool ByteFallback { get; private set; }

    /// <summary>trainer_spec.bos_id and eos_id (sentencepiece's defaults 1 and 2; negative for none).</summary>
    public int BosId { get; private set; } = 1;

    public int EosId { get; private set; } = 2;

    /// <exception cref="TokenizerLoadException">The bytes are not a ModelProto, or a field is out of range.</exception>
    public static SentencePieceModelFile Parse(byte[] data, string path)
    {
        var model = new SentencePieceModelFile(path);
        try
        {
            var pieces = new List<(string, float, PieceType)>();
            SentencePieceNormalizerSpec? denormalizer = null;
            foreach (var f in Fields(data))
            {
                if (f.Field == ModelPiecesField && f.Wire == 2)
                    pieces.Add(ReadPiece(data, f));
                else if (f.Field == ModelNormalizerSpecField && f.Wire == 2)
                    model.Normalizer = MergeSpec(data, f, model.Normalizer);
                else if (f.Field == ModelDenormalizerSpecField && f.Wire == 2)
                    denormalizer = MergeSpec(data, f, denormalizer ?? SentencePieceNormalizerSpec.Default);
                else if (f.Field == ModelTrainerSpecField && f.Wire == 2)
                    model.ReadTrainerSpec(data, f);
            }
            if (pieces.Count == 0)
                throw new TokenizerLoadException($"{path}: a SentencePiece model with no pieces.");
            if (!Enum.IsDefined(model.ModelType))
                throw new TokenizerLoadException($"{path}: trainer_spec.model_type {(int)model.ModelType} is not a sentencepiece model type.");
            model.Pieces = pieces;
            model.Denormalizer = denormalizer is { PrecompiledCharsMap.Length: > 0 } ? denormalizer : null;
            return model;
        }
        catch (Exception e) when (e is FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException or ArgumentException or OverflowException)
        {
            throw new TokenizerLoadException($"{path}: not a SentencePiece model (malformed protobuf: {e.Message}).", e);
        }
    }

    private static (string, float, PieceType) ReadPiece(byte[] data, WireField f)
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
        return (text, score, type);
    }

    private static SentencePieceNormalizerSpec MergeSpec(byte[] data, WireField f, SentencePieceNormalizerSpec spec)
    {
        foreach (var n in Fields(data.AsMemory(f.Start, f.Length)))
        {
            int at = f.Start + n.Start;
            spec = (n.Field, n.Wire) switch
            {
                (NormalizerNameField, 2) => spec with { Name = Encoding.UTF8.GetString(data, at, n.Length) },
                (NormalizerCharsMapField, 2) => spec with { PrecompiledCharsMap = data.AsSpan(at, n.Length).ToArray() },
                (NormalizerAddDummyPrefixField, 0) => spec with { AddDummyPrefix = n.Value != 0 },
                (NormalizerRemoveExtraWhitespacesField, 0) => spec with { RemoveExtraWhitespaces = n.Value != 0 },
                (NormalizerEscapeWhitespacesField, 0) => spec with { EscapeWhitespaces = n.Value != 0 },
                _ => spec,
            };
        }
        return spec;
    }

    private void ReadTrainerSpec(byte[] data, WireField f)
    {
        foreach (var t in Fields(data.AsMemory(f.Start, f.Length)))
        {
            if (t.Wire != 0)
                continue;
            switch (t.Field)
            {
                case TrainerModelTypeField: ModelType = (Algorithm)(int)t.Value; break;
                case TrainerWhitespaceAsSuffixField: TreatWhitespaceAsSuffix = t.Value != 0; break;
                case TrainerByteFallbackField: ByteFallback = t.Value != 0; break;
                case TrainerBosIdField: BosId = (int)(long)t.Value; break;     // int32: negative values are 10-byte varints
                case TrainerEosIdField: EosId = (int)(long)t.Value; break;
            }
        }
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
}
