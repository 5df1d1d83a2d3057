using System.Text;
using PieceType = Condensa.Tokenization.SentencePieceModelFile.PieceType;

namespace Condensa.Tokenization;

/// <summary>
/// The pieces a SentencePiece segmenter may produce (sentencepiece's "pieces_": normal, user-defined and unused
/// pieces; control, unknown and byte pieces are never matched in text), looked up by span without allocating,
/// and the ids an unknown piece turns into: its UTF-8 bytes as &lt;0xXX&gt; pieces with byte_fallback, else &lt;unk&gt;.
/// </summary>
internal sealed class SentencePieceVocabulary
{
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _ids;
    private readonly SentencePieceModelFile _model;
    private readonly int[]? _byteIds;   // [256] ids of <0x00>..<0xFF> when byte_fallback is on

    /// <exception cref="TokenizerLoadException">No &lt;unk&gt; piece, or a piece that occurs twice (sentencepiece refuses both).</exception>
    public SentencePieceVocabulary(SentencePieceModelFile model)
    {
        _model = model;
        var ids = new Dictionary<string, int>(model.Pieces.Count);
        var userDefined = new List<string>();
        int unknownId = -1;
        float minScore = float.MaxValue, maxScore = FloatMinPositive;
        for (int id = 0; id < model.Pieces.Count; id++)
        {
            var (text, score, type) = model.Pieces[id];
            if (type is PieceType.Normal or PieceType.UserDefined or PieceType.Unused
                && !ids.TryAdd(text, id))
                throw new TokenizerLoadException($"{model.Path}: pieces {ids[text]} and {id} are both '{text}'.");
            if (type == PieceType.UserDefined)
                userDefined.Add(text);
            if (type == PieceType.Unknown && unknownId < 0)
                unknownId = id;
            if (type == PieceType.Normal)
            {
                minScore = Math.Min(minScore, score);
                maxScore = Math.Max(maxScore, score);
            }
            if (type is PieceType.Normal or PieceType.UserDefined)
                MaxPieceLength = Math.Max(MaxPieceLength, CodePoints(text));
        }
        if (unknownId < 0)
            throw new TokenizerLoadException($"{model.Path}: no piece has type UNKNOWN (sentencepiece requires an <unk> piece).");
        _ids = ids.GetAlternateLookup<ReadOnlySpan<char>>();
        UnknownId = unknownId;
        UserDefined = userDefined;
        MinNormalScore = minScore;
        MaxNormalScore = maxScore;
        _byteIds = model.ByteFallback ? ByteIds(model, unknownId) : null;
    }

    /// <summary>C's FLT_MIN, where sentencepiece's unigram model starts its maximum score.</summary>
    private const float FloatMinPositive = 1.17549435E-38f;

    public int UnknownId { get; }

    public IReadOnlyList<string> UserDefined { get; }

    /// <summary>The lowest and highest score of a normal piece (the highest starts at FLT_MIN, as in sentencepiece).</summary>
    public float MinNormalScore { get; }

    public float MaxNormalScore { get; }

    /// <summary>The longest normal or user-defined piece, in code points: no match can be longer.</summary>
    public int MaxPieceLength { get; }

    public float Score(int id) => _model.Pieces[id].Score;

    public PieceType Type(int id) => _model.Pieces[id].Type;

    public bool TryGetId(ReadOnlySpan<char> piece, out int id) => _ids.TryGetValue(piece, out id);

    /// <summary>Appends the ids of a segmented piece: <paramref name="id"/> itself, or for &lt;unk&gt; with byte_fallback one byte piece per UTF-8 byte.</summary>
    public void Append(ReadOnlySpan<char> piece, int id, List<int> ids)
    {
        if (id != UnknownId || _byteIds is null)
        {
            ids.Add(id);
            return;
        }
        int maxBytes = Encoding.UTF8.GetMaxByteCount(piece.Length);
        Span<byte> utf8 = maxBytes <= 256 ? stackalloc byte[maxBytes] : new byte[maxBytes];
        int count = Encoding.UTF8.GetBytes(piece, utf8);
        foreach (byte b in utf8[..count])
            ids.Add(_byteIds[b]);
    }

    private static int[] ByteIds(SentencePieceModelFile model, int unknownId)
    {
        var byteIds = new int[256];
        Array.Fill(byteIds, unknownId);   // a missing byte piece encodes as <unk>, as sentencepiece's PieceToId gives
        for (int id = 0; id < model.Pieces.Count; id++)
        {
            var (text, _, type) = model.Pieces[id];
            if (type == PieceType.Byte && text.Length == 6 && text.StartsWith("<0x", StringComparison.Ordinal) && text[5] == '>'
                && byte.TryParse(text.AsSpan(3, 2), System.Globalization.NumberStyles.HexNumber, null, out byte b))
                byteIds[b] = id;
        }
        return byteIds;
    }

    private static int CodePoints(string text)
    {
        int count = 0;
        for (int i = 0; i < text.Length; i += char.IsSurrogatePair(text, i) ? 2 : 1)
            count++;
        return count;
    }
}
