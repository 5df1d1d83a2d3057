using System.Buffers;
using System.Text;

namespace Condensa.Tokenization;

/// <summary>
/// Applies a <see cref="SentencePieceNormalizerSpec"/> as sentencepiece's normalizer.cc does, on UTF-8 bytes:
/// each step takes the longest user-defined piece at the cursor unchanged, else the longest character-map rule's
/// replacement, else one character; then whitespace is trimmed and collapsed (remove_extra_whitespaces), a
/// whitespace is added before (add_dummy_prefix) or after (treat_whitespace_as_suffix) the text, and spaces
/// become '▁' (escape_whitespaces). Used for text before encoding and, with the denormalizer spec, after decoding.
/// </summary>
internal sealed class SentencePieceNormalizer
{
    private static ReadOnlySpan<byte> SpaceMarker => "\u2581"u8;
    private static ReadOnlySpan<byte> ReplacementChar => "\uFFFD"u8;

    private readonly SentencePieceNormalizerSpec _spec;
    private readonly PrecompiledCharsMap? _charsMap;
    private readonly bool _whitespaceAsSuffix;
    private readonly Dictionary<byte, byte[][]> _userDefinedByFirstByte;   // longest first; never normalized

    /// <param name="spec">The spec to apply.</param>
    /// <param name="source">File and field, for errors ("tokenizer.model: normalizer_spec.precompiled_charsmap").</param>
    /// <param name="whitespaceAsSuffix">trainer_spec.treat_whitespace_as_suffix (false for a denormalizer).</param>
    /// <param name="userDefinedPieces">The model's user-defined pieces (none for a denormalizer).</param>
    public SentencePieceNormalizer(SentencePieceNormalizerSpec spec, string source, bool whitespaceAsSuffix,
                                   IEnumerable<string> userDefinedPieces)
    {
        _spec = spec;
        _charsMap = spec.PrecompiledCharsMap.Length > 0 ? PrecompiledCharsMap.Parse(spec.PrecompiledCharsMap, source) : null;
        _whitespaceAsSuffix = whitespaceAsSuffix;
        _userDefinedByFirstByte = userDefinedPieces
            .Where(p => p.Length > 0)
            .Select(p => Encoding.UTF8.GetBytes(p))
            .GroupBy(p => p[0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(p => p.Length).ToArray());
    }

    /// <summary>
    /// Normalizes <paramref name="text"/>. <paramref name="addDummyWhitespace"/> false suppresses the spec's dummy
    /// prefix (or suffix), for text that follows an added token (Hugging Face's legacy=false behaviour).
    /// </summary>
    public string Normalize(string text, bool addDummyWhitespace = true)
    {
        if (text.Length == 0)
            return "";
        byte[] input = Encoding.UTF8.GetBytes(text);
        var output = new ArrayBufferWriter<byte>(input.Length * 3 + 3);
        Normalize(input, _spec.AddDummyPrefix && addDummyWhitespace, output);
        return Encoding.UTF8.GetString(output.WrittenSpan);
    }

    private void Normalize(ReadOnlySpan<byte> input, bool addDummyWhitespace, ArrayBufferWriter<byte> output)
    {
        bool removeExtra = _spec.RemoveExtraWhitespaces;

        // 1) leading whitespace: skipped where it normalizes to exactly one space
        if (removeExtra)
        {
            while (!input.IsEmpty)
            {
                int consumed = NormalizePrefix(input, out var piece);
                if (!piece.SequenceEqual(" "u8))
                    break;
                input = input[consumed..];
            }
        }
        if (input.IsEmpty)
            return;

        // 2) the dummy prefix, then each normalized step; a space that follows a space is dropped when collapsing
        if (addDummyWhitespace && !_whitespaceAsSuffix)
            AppendSpace(output);
        bool previousWasSpace = removeExtra;
        while (!input.IsEmpty)
        {
            int consumed = NormalizePrefix(input, out var piece);
            while (previousWasSpace && !piece.IsEmpty && piece[0] == (byte)' ')
                piece = piece[1..];
            if (!piece.IsEmpty)
            {
                int start = 0;
                for (int i = 0; i < piece.Length; i++)
                {
                    if (piece[i] != (byte)' ')
                        continue;
                    output.Write(piece[start..i]);
                    AppendSpace(output);
                    start = i + 1;
                }
                output.Write(piece[start..]);
                previousWasSpace = piece[^1] == (byte)' ';
            }
            input = input[consumed..];
            if (!removeExtra)
                previousWasSpace = false;
        }

        // 3) trailing whitespace (after escaping, so a literal '▁' at the end goes too, as in sentencepiece)
        if (removeExtra)
        {
            ReadOnlySpan<byte> space = _spec.EscapeWhitespaces ? SpaceMarker : " "u8;
            int length = output.WrittenCount;
            while (length >= space.Length && output.WrittenSpan[..length].EndsWith(space))
                length -= space.Length;
            Truncate(output, length);
        }

        // 4) the dummy suffix
        if (addDummyWhitespace && _whitespaceAsSuffix)
            AppendSpace(output);
    }

    /// <summary>sentencepiece's NormalizePrefix: the normalized form of the input's first unit; returns the bytes it takes.</summary>
    private int NormalizePrefix(ReadOnlySpan<byte> input, out ReadOnlySpan<byte> piece)
    {
        if (_userDefinedByFirstByte.TryGetValue(input[0], out var candidates))
        {
            foreach (byte[] userDefined in candidates)
            {
                if (input.StartsWith(userDefined))
                {
                    piece = input[..userDefined.Length];
                    return userDefined.Length;
                }
            }
        }
        if (_charsMap is not null && _charsMap.TryMatch(input, out int matched, out piece))
            return matched;
        if (System.Text.Rune.DecodeFromUtf8(input, out _, out int length) != OperationStatus.Done)
        {
            piece = ReplacementChar;   // a malformed byte becomes U+FFFD and is consumed alone
            return 1;
        }
        piece = input[..length];
        return length;
    }

    private void AppendSpace(ArrayBufferWriter<byte> output)
    {
        if (_spec.EscapeWhitespaces)
            output.Write(SpaceMarker);
        else
            output.Write(" "u8);
    }

    private static void Truncate(ArrayBufferWriter<byte> output, int length)
    {
        if (length == output.WrittenCount)
            return;
        byte[] kept = output.WrittenSpan[..length].ToArray();
        output.ResetWrittenCount();
        output.Write(kept);
    }
}
