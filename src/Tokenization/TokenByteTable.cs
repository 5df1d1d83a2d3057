namespace Condensa.Tokenization;

/// <summary>
/// What each token id stands for as raw bytes, shared by full and streaming decoding. Byte-level BPE tokens
/// map through <see cref="ByteLevelAlphabet"/>, SentencePiece pieces have their '▁' marker turned into a
/// space and byte pieces (&lt;0x0A&gt;) into their byte, tiktoken ranks are bytes already. Added tokens decode
/// to their content. Where the model adds a dummy prefix or removes extra whitespace (SentencePiece), the
/// marker-space that opens the first decoded piece is dropped, as sentencepiece's decoder does; with
/// remove_extra_whitespaces it keeps dropping them until a piece leaves some text.
/// </summary>
internal sealed class TokenByteTable
{
    private readonly byte[]?[] _bytes;         // [vocab] token bytes, null for ids with no token
    private readonly bool[] _special;          // [vocab] skipped when decoding with skipSpecialTokens
    private readonly bool[]? _leadingMarker;   // [vocab] piece text opens with '▁' (SentencePiece dummy prefix only)
    private readonly bool _stripUntilText;     // keep dropping leading markers while they leave nothing

    public TokenByteTable(byte[]?[] bytes, bool[] special, bool[]? leadingMarker, bool stripUntilText = false)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        ArgumentNullException.ThrowIfNull(special);
        if (special.Length != bytes.Length || (leadingMarker is not null && leadingMarker.Length != bytes.Length))
            throw new ArgumentException("Every table needs one entry per token id.", nameof(special));
        _bytes = bytes;
        _special = special;
        _leadingMarker = leadingMarker;
        _stripUntilText = stripUntilText;
    }

    public int Count => _bytes.Length;

    public bool IsSpecial(int id) => (uint)id < (uint)_special.Length && _special[id];

    /// <summary>
    /// The bytes id contributes at this point of a decode, empty for a skipped special token.
    /// <paramref name="atStart"/> is true until the first token that produces output.
    /// </summary>
    public ReadOnlySpan<byte> BytesOf(int id, bool skipSpecialTokens, ref bool atStart)
    {
        if ((uint)id >= (uint)_bytes.Length || _bytes[id] is not { } bytes)
            throw new ArgumentOutOfRangeException(nameof(id), id, $"Token id {id} is not in the vocabulary of {_bytes.Length} ids.");
        if (skipSpecialTokens && _special[id])
            return ReadOnlySpan<byte>.Empty;
        ReadOnlySpan<byte> span = bytes;
        if (atStart && _leadingMarker is not null && _leadingMarker[id] && span.Length > 0 && span[0] == (byte)' ')
        {
            span = span[1..];
            atStart = _stripUntilText && span.IsEmpty;
            return span;
        }
        atStart = false;
        return span;
    }
}
