using System.Text;

namespace Condensa.Tokenization;

/// <summary>
/// SentencePiece BPE encoding as sentencepiece's bpe_model.cc does it, for models with identity
/// normalization (no precompiled character map). Microsoft.ML.Tokenizers 2.0.1 breaks ties between equal
/// merges differently (it merges "▁▁▁" as "▁" + "▁▁" where sentencepiece gives "▁▁" + "▁"), which changes
/// the ids of whitespace runs and repeated characters in code; sentencepiece merges the highest-scoring
/// pair first and, among equal scores, the leftmost.
/// </summary>
internal sealed class SentencePieceBpeEncoder
{
    private const char SpaceMarker = '\u2581';

    private readonly Dictionary<string, (int Id, float Score)> _pieces;        // normal and user-defined pieces
    private readonly Dictionary<char, string[]> _userDefinedByFirstChar;       // longest first, never merged
    private readonly int[]? _byteIds;                                          // [256] byte-fallback piece ids
    private readonly int _unknownId;
    private readonly SentencePieceModelFile _model;

    private SentencePieceBpeEncoder(SentencePieceModelFile model)
    {
        _model = model;
        _pieces = new Dictionary<string, (int, float)>();
        var userDefined = new List<string>();
        var byteIds = new int[256];
        bool hasBytes = false;
        _unknownId = 0;
        for (int id = 0; id < model.Pieces.Count; id++)
        {
            var (text, score, type) = model.Pieces[id];
            switch (type)
            {
                case SentencePieceModelFile.PieceType.Normal:
                    _pieces.TryAdd(text, (id, score));
                    break;
                case SentencePieceModelFile.PieceType.UserDefined:
                    _pieces.TryAdd(text, (id, score));
                    userDefined.Add(text);
                    break;
                case SentencePieceModelFile.PieceType.Unknown:
                    _unknownId = id;
                    break;
                case SentencePieceModelFile.PieceType.Byte when text.Length == 6:
                    byteIds[Convert.ToByte(text.Substring(3, 2), 16)] = id;
                    hasBytes = true;
                    break;
            }
        }
        _byteIds = hasBytes ? byteIds : null;
        _userDefinedByFirstChar = userDefined.Where(u => u.Length > 0).GroupBy(u => u[0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(u => u.Length).ToArray());
    }

    /// <summary>An encoder for a BPE model with identity normalization, null for any other model (left to Microsoft.ML.Tokenizers).</summary>
    public static SentencePieceBpeEncoder? TryCreate(SentencePieceModelFile model) =>
        model.ModelType == 2 && !model.HasCharsMap ? new SentencePieceBpeEncoder(model) : null;

    /// <summary>Encodes text; <paramref name="addDummyPrefix"/> is the model's flag for text that opens the input, false after an added token.</summary>
    public IEnumerable<int> Encode(string text, bool addDummyPrefix)
    {
        // 1) normalize: whitespace handling, dummy prefix, '▁' for spaces
        string normalized = Normalize(text, addDummyPrefix && _model.AddDummyPrefix);
        if (normalized.Length == 0)
            return [];

        // 2) symbols: user-defined pieces whole (frozen), otherwise one code point each
        var symbols = new List<Symbol>(normalized.Length);
        for (int pos = 0; pos < normalized.Length;)
        {
            int length = char.IsSurrogatePair(normalized, pos) ? 2 : 1;
            bool frozen = false;
            if (_userDefinedByFirstChar.TryGetValue(normalized[pos], out var candidates))
            {
                foreach (string u in candidates)
                {
                    if (string.CompareOrdinal(normalized, pos, u, 0, u.Length) == 0)
                    {
                        length = u.Length;
                        frozen = true;
                        break;
                    }
                }
            }
            int index = symbols.Count;
            symbols.Add(new Symbol(pos, length, index - 1, pos + length < normalized.Length ? index + 1 : -1, frozen));
            pos += length;
        }

        // 3) merge the best pair until none is in the vocabulary: highest score first, leftmost among equals
        var agenda = new PriorityQueue<(int Left, int Right, int Length), (float Score, int Left)>(PairOrder.Instance);
        void MaybeAdd(int left, int right)
        {
            if (left < 0 || right < 0 || symbols[left].Frozen || symbols[right].Frozen)
                return;
            int length = symbols[left].Length + symbols[right].Length;
            if (_pieces.TryGetValue(normalized.Substring(symbols[left].Start, length), out var piece))
                agenda.Enqueue((left, right, length), (piece.Score, left));
        }
        for (int i = 1; i < symbols.Count; i++)
            MaybeAdd(i - 1, i);
        while (agenda.TryDequeue(out var pair, out _))
        {
            Symbol left = symbols[pair.Left], right = symbols[pair.Right];
            if (left.Length == 0 || right.Length == 0 || left.Length + right.Length != pair.Length)
                continue;                                          // stale: one side was merged since
            symbols[pair.Left] = left with { Length = pair.Length, Next = right.Next };
            symbols[pair.Right] = right with { Length = 0 };
            if (right.Next >= 0)
                symbols[right.Next] = symbols[right.Next] with { Prev = pair.Left };
            MaybeAdd(left.Prev, pair.Left);
            MaybeAdd(pair.Left, right.Next);
        }

        // 4) ids: known pieces, else byte pieces (byte fallback), else unknown
        var ids = new List<int>(symbols.Count);
        for (int i = 0; i >= 0 && i < symbols.Count; i = symbols[i].Next)
        {
            string piece = normalized.Substring(symbols[i].Start, symbols[i].Length);
            if (_pieces.TryGetValue(piece, out var known))
                ids.Add(known.Id);
            else if (_byteIds is not null)
                foreach (byte b in Encoding.UTF8.GetBytes(piece))
                    ids.Add(_byteIds[b]);
            else
                ids.Add(_unknownId);
        }
        return ids;
    }

    private string Normalize(string text, bool addDummyPrefix)
    {
        if (_model.RemoveExtraWhitespaces)
        {
            var sb = new StringBuilder(text.Length);
            foreach (char c in text.Trim(' '))
            {
                if (c == ' ' && sb.Length > 0 && sb[^1] == ' ')
                    continue;
                sb.Append(c);
            }
            text = sb.ToString();
        }
        if (text.Length == 0)
            return text;
        if (addDummyPrefix)
            text = " " + text;
        return _model.EscapeWhitespaces ? text.Replace(' ', SpaceMarker) : text;
    }

    private readonly record struct Symbol(int Start, int Length, int Prev, int Next, bool Frozen);

    private sealed class PairOrder : IComparer<(float Score, int Left)>
    {
        public static readonly PairOrder Instance = new();

        public int Compare((float Score, int Left) x, (float Score, int Left) y) =>
            x.Score != y.Score ? y.Score.CompareTo(x.Score) : x.Left.CompareTo(y.Left);
    }
}
