using PieceType = Condensa.Tokenization.SentencePieceModelFile.PieceType;

namespace Condensa.Tokenization;

/// <summary>
/// SentencePiece BPE segmentation as sentencepiece's bpe_model.cc does it: start from characters (user-defined
/// pieces whole and frozen), repeatedly merge the adjacent pair whose concatenation is the highest-scoring piece,
/// the leftmost among equal scores (Microsoft.ML.Tokenizers 2.0.1 breaks that tie the other way, which changes
/// whitespace runs and repeated characters), and split a merge that ended on an unused piece back into the two
/// symbols it was made of.
/// </summary>
internal sealed class SentencePieceBpeSegmenter : SentencePieceSegmenter
{
    private readonly SentencePieceVocabulary _vocabulary;
    private readonly Dictionary<char, string[]> _userDefinedByFirstChar;   // longest first, never merged

    public SentencePieceBpeSegmenter(SentencePieceVocabulary vocabulary)
    {
        _vocabulary = vocabulary;
        _userDefinedByFirstChar = vocabulary.UserDefined.Where(u => u.Length > 0).GroupBy(u => u[0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(u => u.Length).ToArray());
    }

    public override void Segment(string normalized, List<int> ids)
    {
        // 1) symbols: user-defined pieces whole (frozen), otherwise one code point each
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

        // 2) merge the best pair until none is a piece: highest score first, leftmost among equals
        var agenda = new PriorityQueue<(int Left, int Right, int Length), (float Score, int Left)>(PairOrder.Instance);
        Dictionary<string, (string Left, string Right)>? unusedSplits = null;   // how each unused piece was made
        void MaybeAdd(int left, int right)
        {
            if (left < 0 || right < 0 || symbols[left].Frozen || symbols[right].Frozen)
                return;
            int length = symbols[left].Length + symbols[right].Length;
            var merged = normalized.AsSpan(symbols[left].Start, length);
            if (!_vocabulary.TryGetId(merged, out int id))
                return;
            agenda.Enqueue((left, right, length), (_vocabulary.Score(id), left));
            if (_vocabulary.Type(id) == PieceType.Unused)
            {
                unusedSplits ??= [];
                unusedSplits[merged.ToString()] = (normalized.Substring(symbols[left].Start, symbols[left].Length),
                                                   normalized.Substring(symbols[right].Start, symbols[right].Length));
            }
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

        // 3) ids: pieces as found (unused ones split again), unknown symbols through byte fallback or <unk>
        for (int i = 0; i >= 0 && i < symbols.Count; i = symbols[i].Next)
            Emit(normalized.AsSpan(symbols[i].Start, symbols[i].Length), unusedSplits, ids);
    }

    private void Emit(ReadOnlySpan<char> piece, Dictionary<string, (string Left, string Right)>? unusedSplits, List<int> ids)
    {
        if (!_vocabulary.TryGetId(piece, out int id))
            id = _vocabulary.UnknownId;
        else if (_vocabulary.Type(id) == PieceType.Unused && unusedSplits is not null
                 && unusedSplits.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(piece, out var split))
        {
            Emit(split.Left, unusedSplits, ids);
            Emit(split.Right, unusedSplits, ids);
            return;
        }
        _vocabulary.Append(piece, id, ids);
    }

    private readonly record struct Symbol(int Start, int Length, int Prev, int Next, bool Frozen);

    private sealed class PairOrder : IComparer<(float Score, int Left)>
    {
        public static readonly PairOrder Instance = new();

        public int Compare((float Score, int Left) x, (float Score, int Left) y) =>
            x.Score != y.Score ? y.Score.CompareTo(x.Score) : x.Left.CompareTo(y.Left);
    }
}
