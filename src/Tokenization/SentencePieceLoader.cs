using System.Text;
using Microsoft.ML.Tokenizers;

namespace Condensa.Tokenization;

/// <summary>Loads a SentencePiece tokenizer.model (Llama 2, Mistral, TinyLlama and the project's demo models).</summary>
internal static class SentencePieceLoader
{
    private const char SpaceMarker = '\u2581';   // '▁', SentencePiece's visible space

    public static LoadedModel Load(string path, CheckpointFiles files)
    {
        byte[] data = File.ReadAllBytes(path);
        var model = SentencePieceModelFile.Parse(data, path);
        int pieceCount = model.Pieces.Count;

        // Added tokens: the config's list plus the model's control and unknown pieces, which HF also treats as special.
        var added = new Dictionary<int, AddedToken>();
        for (int id = 0; id < pieceCount; id++)
        {
            var (text, _, type) = model.Pieces[id];
            if (type is SentencePieceModelFile.PieceType.Control or SentencePieceModelFile.PieceType.Unknown)
                added[id] = new AddedToken(id, text, Special: true);
        }
        foreach (var token in files.AddedTokens())
            added[token.Id] = token;
        var extra = added.Values.Where(t => t.Id >= pieceCount).ToDictionary(t => t.Content, t => t.Id);

        Tokenizer inner, afterAddedToken;
        try
        {
            inner = SentencePieceTokenizer.Create(new MemoryStream(data), false, false,
                                                  specialTokens: extra.Count > 0 ? extra : null);
            afterAddedToken = model.AddDummyPrefix
                ? SentencePieceTokenizer.Create(new MemoryStream(model.WithoutDummyPrefix()), false, false, extra.Count > 0 ? extra : null)
                : inner;
        }
        catch (Exception e) when (e is not TokenizerLoadException)
        {
            throw new TokenizerLoadException($"{path}: Microsoft.ML.Tokenizers cannot load this SentencePiece model " +
                                             $"(model_type {model.ModelType}): {e.Message}", e);
        }

        int vocabSize = Math.Max(pieceCount, added.Count == 0 ? 0 : added.Keys.Max() + 1);
        var bytes = new byte[]?[vocabSize];
        var special = new bool[vocabSize];
        var leadingMarker = model.AddDummyPrefix ? new bool[vocabSize] : null;
        var pieceIds = new Dictionary<string, int>(pieceCount);
        for (int id = 0; id < pieceCount; id++)
        {
            var (text, _, type) = model.Pieces[id];
            pieceIds.TryAdd(text, id);
            bytes[id] = type == SentencePieceModelFile.PieceType.Byte && TryParseBytePiece(text, out byte b)
                ? [b]
                : Encoding.UTF8.GetBytes(text.Replace(SpaceMarker, ' '));
            if (leadingMarker is not null)
                leadingMarker[id] = text.Length > 0 && text[0] == SpaceMarker && type != SentencePieceModelFile.PieceType.Byte;
        }
        foreach (var token in added.Values)
        {
            bytes[token.Id] = Encoding.UTF8.GetBytes(token.Content);
            special[token.Id] = token.Special;
            if (leadingMarker is not null)
                leadingMarker[token.Id] = false;
        }

        int? Lookup(string token) =>
            extra.TryGetValue(token, out int a) ? a : pieceIds.TryGetValue(token, out int p) ? p : null;

        // sentencepiece's own BPE algorithm where it applies (see SentencePieceBpeEncoder), else Microsoft.ML.Tokenizers.
        var exact = SentencePieceBpeEncoder.TryCreate(model);
        Func<string, bool, IEnumerable<int>> encode = exact is not null
            ? (text, atStart) => exact.Encode(text, atStart)
            : (text, atStart) => (atStart ? inner : afterAddedToken).EncodeToIds(text);

        var sp = (SentencePieceTokenizer)inner;
        return new LoadedModel(
            inner, encode, added.Values.OrderBy(t => t.Id).ToList(),
            new TokenByteTable(bytes, special, leadingMarker), Lookup,
            AddsBosByDefault: true,
            ModelBos: sp.BeginningOfSentenceId >= 0 ? sp.BeginningOfSentenceId : null,
            ModelEos: sp.EndOfSentenceId >= 0 ? sp.EndOfSentenceId : null,
            Format: "sentencepiece");
    }

    /// <summary>Reads a byte piece "&lt;0x0A&gt;".</summary>
    private static bool TryParseBytePiece(string piece, out byte value)
    {
        value = 0;
        return piece.Length == 6 && piece.StartsWith("<0x", StringComparison.Ordinal) && piece[5] == '>'
            && byte.TryParse(piece.AsSpan(3, 2), System.Globalization.NumberStyles.HexNumber, null, out value);
    }
}
