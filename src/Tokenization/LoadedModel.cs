using Microsoft.ML.Tokenizers;

namespace Condensa.Tokenization;

/// <summary>What a format loader hands to <see cref="TokenizerFactory"/>: the models, the added tokens and the decode table.</summary>
/// <param name="Inner">The Microsoft.ML.Tokenizers model.</param>
/// <param name="EncodeText">Encodes plain text; the flag is true for text that opens the input (SentencePiece adds its dummy prefix only there).</param>
/// <param name="AddedTokens">Tokens matched as a whole in text.</param>
/// <param name="Table">Bytes per id for decoding.</param>
/// <param name="TokenToId">Id of a token string (added tokens first), null when unknown.</param>
/// <param name="AddsBosByDefault">Whether the format prepends BOS when tokenizer_config.json does not say (add_bos_token).</param>
/// <param name="ModelBos">BOS id the model file itself names (SentencePiece), when no config does.</param>
/// <param name="ModelEos">EOS id the model file itself names (SentencePiece), when no config does.</param>
/// <param name="Format">Name of the format, for messages and <see cref="CheckpointTokenizer.Format"/>.</param>
/// <param name="Denormalize">Applied to decoded text (a SentencePiece denormalizer spec), null for none.</param>
internal sealed record LoadedModel(
    Tokenizer Inner,
    Func<string, bool, IEnumerable<int>> EncodeText,
    IReadOnlyList<AddedToken> AddedTokens,
    TokenByteTable Table,
    Func<string, int?> TokenToId,
    bool AddsBosByDefault,
    int? ModelBos,
    int? ModelEos,
    string Format,
    Func<string, string>? Denormalize = null);
