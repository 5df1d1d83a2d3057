namespace Condensa.Tokenization;

/// <summary>
/// A sentencepiece_model.proto NormalizerSpec: how text is normalized before encoding (ModelProto.normalizer_spec)
/// or after decoding (ModelProto.denormalizer_spec). Defaults are the proto's.
/// </summary>
/// <param name="Name">The rule set it was built from ("nmt_nfkc", "nfkc", "identity", "user_defined"); informational.</param>
/// <param name="PrecompiledCharsMap">The character map blob (a double-array trie and its replacement strings); empty for none.</param>
/// <param name="AddDummyPrefix">Prepend one whitespace, so a word at the start looks like one after a space.</param>
/// <param name="RemoveExtraWhitespaces">Drop leading and trailing whitespace and collapse runs of it into one.</param>
/// <param name="EscapeWhitespaces">Write whitespace as '▁' (U+2581).</param>
internal sealed record SentencePieceNormalizerSpec(
    string Name,
    byte[] PrecompiledCharsMap,
    bool AddDummyPrefix = true,
    bool RemoveExtraWhitespaces = true,
    bool EscapeWhitespaces = true)
{
    /// <summary>The spec a ModelProto without normalizer_spec has.</summary>
    public static readonly SentencePieceNormalizerSpec Default = new("", []);
}
