namespace Condensa.Tokenization;

/// <summary>
/// Encodes text as sentencepiece does for a tokenizer.model: the model's <see cref="SentencePieceNormalizer"/>
/// (character map, whitespace rules, dummy prefix, '▁'), then its BPE or Unigram segmentation with byte
/// fallback. Decoding text back goes through <see cref="TokenByteTable"/> and, where the model has one, the
/// denormalizer (<see cref="Denormalize"/>).
/// </summary>
internal sealed class SentencePieceEncoder
{
    private readonly SentencePieceNormalizer _normalizer;
    private readonly SentencePieceNormalizer? _denormalizer;
    private readonly SentencePieceSegmenter _segmenter;

    private SentencePieceEncoder(SentencePieceNormalizer normalizer, SentencePieceNormalizer? denormalizer, SentencePieceSegmenter segmenter)
    {
        _normalizer = normalizer;
        _denormalizer = denormalizer;
        _segmenter = segmenter;
    }

    /// <summary>Whether the model has a denormalizer, applied to decoded text.</summary>
    public bool HasDenormalizer => _denormalizer is not null;

    /// <exception cref="TokenizerLoadException">A word or char model, or a spec that cannot be read (the message names the file and field).</exception>
    public static SentencePieceEncoder Create(SentencePieceModelFile model)
    {
        var vocabulary = new SentencePieceVocabulary(model);
        SentencePieceSegmenter segmenter = model.ModelType switch
        {
            SentencePieceModelFile.Algorithm.Bpe => new SentencePieceBpeSegmenter(vocabulary),
            SentencePieceModelFile.Algorithm.Unigram => new SentencePieceUnigramSegmenter(vocabulary),
            _ => throw new TokenizerLoadException(
                $"{model.Path}: trainer_spec.model_type {model.ModelType} is not supported (only BPE and Unigram SentencePiece models are)."),
        };
        var normalizer = new SentencePieceNormalizer(model.Normalizer, $"{model.Path}: normalizer_spec.precompiled_charsmap",
                                                     model.TreatWhitespaceAsSuffix, vocabulary.UserDefined);
        var denormalizer = model.Denormalizer is { } spec
            ? new SentencePieceNormalizer(spec, $"{model.Path}: denormalizer_spec.precompiled_charsmap", whitespaceAsSuffix: false, [])
            : null;
        return new SentencePieceEncoder(normalizer, denormalizer, segmenter);
    }

    /// <summary>
    /// The ids of <paramref name="text"/> (no BOS). <paramref name="atStart"/> is false for text that follows an
    /// added token, which gets no dummy prefix (Hugging Face's legacy=false behaviour).
    /// </summary>
    public List<int> Encode(string text, bool atStart)
    {
        string normalized = _normalizer.Normalize(text, atStart);
        var ids = new List<int>(normalized.Length / 2 + 1);
        if (normalized.Length > 0)
            _segmenter.Segment(normalized, ids);
        return ids;
    }

    /// <summary>The text sentencepiece's decoder returns for <paramref name="decoded"/>: denormalized where the model says so.</summary>
    public string Denormalize(string decoded) => _denormalizer?.Normalize(decoded) ?? decoded;
}
