using System.Buffers;
using PieceType = Condensa.Tokenization.SentencePieceModelFile.PieceType;

namespace Condensa.Tokenization;

/// <summary>
/// SentencePiece Unigram segmentation as sentencepiece's unigram_model.cc (its optimized Viterbi) does it: the
/// best path ending at each character boundary, extended by every piece that starts there (shortest first, a
/// later candidate replacing the best only when strictly better); a character no piece covers alone becomes
/// &lt;unk&gt; scored 10 below the lowest piece; user-defined pieces score length-in-bytes x the highest score
/// - 0.1 so that they always win. Scores are summed with sentencepiece's mix of float and double arithmetic,
/// so near-ties resolve the same way.
/// </summary>
internal sealed class SentencePieceUnigramSegmenter : SentencePieceSegmenter
{
    private const float UnknownPenalty = 10f;   // sentencepiece's kUnkPenalty

    private readonly SentencePieceVocabulary _vocabulary;
    private readonly float _unknownScore;

    public SentencePieceUnigramSegmenter(SentencePieceVocabulary vocabulary)
    {
        _vocabulary = vocabulary;
        _unknownScore = vocabulary.MinNormalScore - UnknownPenalty;
    }

    public override void Segment(string normalized, List<int> ids)
    {
        int n = normalized.Length;
        float[] bestScore = ArrayPool<float>.Shared.Rent(n + 1);   // [n + 1] best path score ending at char index i
        int[] startsAt = ArrayPool<int>.Shared.Rent(n + 1);        // [n + 1] where its last piece starts, -1 unreached
        int[] pieceId = ArrayPool<int>.Shared.Rent(n + 1);         // [n + 1] its last piece
        try
        {
            Array.Fill(startsAt, -1, 0, n + 1);
            bestScore[0] = 0;

            // 1) forward: extend the best path at each boundary by every piece that starts there
            for (int start = 0; start < n; start += CharLength(normalized, start))
            {
                float scoreHere = bestScore[start];
                int oneChar = CharLength(normalized, start);
                bool singleCharPiece = false;
                int end = start, bytes = 0;
                for (int k = 0; k < _vocabulary.MaxPieceLength && end < n; k++)
                {
                    int length = CharLength(normalized, end);
                    bytes += Utf8Length(normalized, end, length);
                    end += length;
                    if (!_vocabulary.TryGetId(normalized.AsSpan(start, end - start), out int id))
                        continue;
                    var type = _vocabulary.Type(id);
                    if (type == PieceType.Unused)
                        continue;
                    // sentencepiece computes this in double (its user-defined branch is double) and stores it as float
                    double score = type == PieceType.UserDefined
                        ? (double)((float)bytes * _vocabulary.MaxNormalScore) - 0.1
                        : _vocabulary.Score(id);
                    double candidate = score + scoreHere;
                    if (startsAt[end] == -1 || candidate > bestScore[end])
                    {
                        bestScore[end] = (float)candidate;
                        startsAt[end] = start;
                        pieceId[end] = id;
                    }
                    if (end - start == oneChar)
                        singleCharPiece = true;
                }
                if (!singleCharPiece)
                {
                    int target = start + oneChar;
                    float candidate = _unknownScore + scoreHere;
                    if (startsAt[target] == -1 || candidate > bestScore[target])
                    {
                        bestScore[target] = candidate;
                        startsAt[target] = start;
                        pieceId[target] = _vocabulary.UnknownId;
                    }
                }
            }

            // 2) backward: follow the links from the end, then emit in text order
            int pieces = 0;
            for (int end = n; end > 0; end = startsAt[end])
                pieces++;
            Span<int> ends = pieces <= 256 ? stackalloc int[pieces] : new int[pieces];
            for (int end = n, i = pieces - 1; end > 0; end = startsAt[end], i--)
                ends[i] = end;
            foreach (int end in ends)
                _vocabulary.Append(normalized.AsSpan(startsAt[end], end - startsAt[end]), pieceId[end], ids);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(bestScore);
            ArrayPool<int>.Shared.Return(startsAt);
            ArrayPool<int>.Shared.Return(pieceId);
        }
    }

    private static int CharLength(string text, int index) => char.IsSurrogatePair(text, index) ? 2 : 1;

    /// <summary>UTF-8 bytes of the code point at index (length 1 or 2 UTF-16 units).</summary>
    private static int Utf8Length(string text, int index, int length) =>
        length == 2 ? 4 : text[index] < 0x80 ? 1 : text[index] < 0x800 ? 2 : 3;
}
