namespace Condensa.Tokenization;

/// <summary>
/// Splits normalized SentencePiece text (spaces already '▁') into piece ids: the model-type specific half of
/// sentencepiece's encoder (<see cref="SentencePieceBpeSegmenter"/>, <see cref="SentencePieceUnigramSegmenter"/>).
/// </summary>
internal abstract class SentencePieceSegmenter
{
    /// <summary>Appends the ids of <paramref name="normalized"/> (not empty) to <paramref name="ids"/>.</summary>
    public abstract void Segment(string normalized, List<int> ids);
}
