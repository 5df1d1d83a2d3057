using System.Text;
using Microsoft.ML.Tokenizers;

namespace Condensa.Tokenization;

/// <summary>
/// Loads a SentencePiece tokenizer.model (Llama 2, Mistral, TinyLlama, T5-style Unigram models and the project's
/// demo models). Text is encoded by <see cref="SentencePieceEncoder"/>, which applies the model's normalizer spec
/// as sentencepiece does; Microsoft.ML.Tokenizers' SentencePieceTokenizer is kept only as
/// <see cref="CheckpointTokenizer.Inner"/>, since it ignores the precompiled character map.
/// </summary>
internal static class SentencePieceLoader
{
    private const char SpaceMarker = '\u2581';   // '▁', SentencePiece's visible space

    private static int _transformersNoticeShown;  // the note about transformers' ids is printed once per process

    public static LoadedModel Load(string path, CheckpointFiles files)
    {
        byte[] data = File.ReadAllBytes(path);
        var model = SentencePieceModelFile.Parse(data, path);
        var encoder = SentencePieceEncoder.Create(model);
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

        Tokenizer inner;
        try
        {
            inner = SentencePieceTokenizer.Create(new MemoryStream(data), false, false, specialTokens: extra.Count > 0 ? extra : null);
        }
        catch (Exception e) when (e is not TokenizerLoadException)
        {
            throw new TokenizerLoadException($"{path}: Microsoft.ML.Tokenizers cannot load this SentencePiece model " +
                                             $"(model_type {model.ModelType}): {e.Message}", e);
        }

        var table = DecodeTable(model, added.Values, pieceCount);
        var pieceIds = new Dictionary<string, int>(pieceCount);
        for (int id = 0; id < pieceCount; id++)
            pieceIds.TryAdd(model.Pieces[id].Text, id);
        int? Lookup(string token) =>
            extra.TryGetValue(token, out int a) ? a : pieceIds.TryGetValue(token, out int p) ? p : null;

        WarnOnceWhereTransformersDiffers(model);
        return new LoadedModel(
            inner, (text, atStart) => encoder.Encode(text, atStart), added.Values.OrderBy(t => t.Id).ToList(),
            table, Lookup,
            AddsBosByDefault: true,
            ModelBos: model.BosId >= 0 && model.BosId < pieceCount ? model.BosId : null,
            ModelEos: model.EosId >= 0 && model.EosId < pieceCount ? model.EosId : null,
            Format: "sentencepiece",
            Denormalize: encoder.HasDenormalizer ? encoder.Denormalize : null);
    }

    /// <summary>Bytes per id: '▁' as a space, byte pieces as their byte, added tokens as their content.</summary>
    private static TokenByteTable DecodeTable(SentencePieceModelFile model, IEnumerable<AddedToken> added, int pieceCount)
    {
        var addedList = added.ToList();
        int vocabSize = Math.Max(pieceCount, addedList.Count == 0 ? 0 : addedList.Max(t => t.Id) + 1);
        var bytes = new byte[]?[vocabSize];
        var special = new bool[vocabSize];

        // sentencepiece's decoder drops the '▁' that opens the output where the normalizer may have put it there
        bool stripsLeadingMarker = model.AddDummyPrefix || model.RemoveExtraWhitespaces;
        var leadingMarker = stripsLeadingMarker ? new bool[vocabSize] : null;
        for (int id = 0; id < pieceCount; id++)
        {
            var (text, _, type) = model.Pieces[id];
            bytes[id] = type == SentencePieceModelFile.PieceType.Byte && TryParseBytePiece(text, out byte b)
                ? [b]
                : Encoding.UTF8.GetBytes(text.Replace(SpaceMarker, ' '));
            if (leadingMarker is not null)
                leadingMarker[id] = text.Length > 0 && text[0] == SpaceMarker && type != SentencePieceModelFile.PieceType.Byte;
        }
        foreach (var token in addedList)
        {
            bytes[token.Id] = Encoding.UTF8.GetBytes(token.Content);
            special[token.Id] = token.Special;
            if (leadingMarker is not null)
                leadingMarker[token.Id] = false;
        }
        return new TokenByteTable(bytes, special, leadingMarker, stripUntilText: model.RemoveExtraWhitespaces);
    }

    /// <summary>
    /// transformers 5 builds its Llama/T5 tokenizers without the model's normalizer spec (no character map, no
    /// whitespace collapsing), so for such models its ids differ from sentencepiece's, which the model was trained
    /// with and which Condensa follows. Say so once, where it matters.
    /// </summary>
    private static void WarnOnceWhereTransformersDiffers(SentencePieceModelFile model)
    {
        var spec = model.Normalizer;
        if (spec.PrecompiledCharsMap.Length == 0 && !spec.RemoveExtraWhitespaces)
            return;
        if (Interlocked.Exchange(ref _transformersNoticeShown, 1) != 0)
            return;
        Console.Error.WriteLine(
            $"note: {model.Path}: encoding with the model's SentencePiece normalizer spec ('{spec.Name}', " +
            $"remove_extra_whitespaces {spec.RemoveExtraWhitespaces.ToString().ToLowerInvariant()}) as sentencepiece does; " +
            "transformers 5's tokenizer drops that spec, so its prompt ids can differ from Condensa's.");
    }

    /// <summary>Reads a byte piece "&lt;0x0A&gt;".</summary>
    private static bool TryParseBytePiece(string piece, out byte value)
    {
        value = 0;
        return piece.Length == 6 && piece.StartsWith("<0x", StringComparison.Ordinal) && piece[5] == '>'
            && byte.TryParse(piece.AsSpan(3, 2), System.Globalization.NumberStyles.HexNumber, null, out value);
    }
}
