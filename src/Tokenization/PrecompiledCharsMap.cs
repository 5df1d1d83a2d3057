using System.Buffers.Binary;

namespace Condensa.Tokenization;

/// <summary>
/// A SentencePiece precompiled character map (NormalizerSpec.precompiled_charsmap): the normalization rules of
/// nmt_nfkc, nfkc or a user's rule table compiled into a darts-clone double-array trie over UTF-8 byte sequences,
/// each leaf naming a NUL-terminated replacement string. Layout: a little-endian uint32 trie size in bytes, the
/// trie's 32-bit units, then the replacement strings. Lookups find the longest rule that matches a prefix of the
/// input, as sentencepiece's normalizer does.
/// </summary>
internal sealed class PrecompiledCharsMap
{
    private readonly uint[] _units;         // [trie size / 4] darts-clone units
    private readonly byte[] _replacements;  // NUL-terminated UTF-8 strings, addressed by leaf values
    private readonly string _source;        // file and field, for the error a corrupt trie raises while matching

    private PrecompiledCharsMap(uint[] units, byte[] replacements, string source)
    {
        _units = units;
        _replacements = replacements;
        _source = source;
    }

    /// <summary>Reads the blob; <paramref name="source"/> names the file and field in errors.</summary>
    /// <exception cref="TokenizerLoadException">The blob is too short, or its trie size does not fit it.</exception>
    public static PrecompiledCharsMap Parse(ReadOnlySpan<byte> blob, string source)
    {
        if (blob.Length < 4)
            throw new TokenizerLoadException($"{source}: {blob.Length} bytes, shorter than the 4-byte trie size.");
        uint trieSize = BinaryPrimitives.ReadUInt32LittleEndian(blob);
        if (trieSize == 0 || trieSize % 4 != 0 || trieSize > blob.Length - 4)
            throw new TokenizerLoadException(
                $"{source}: trie size {trieSize} is not a positive multiple of 4 within the {blob.Length - 4} bytes that follow it.");
        var units = new uint[trieSize / 4];
        for (int i = 0; i < units.Length; i++)
            units[i] = BinaryPrimitives.ReadUInt32LittleEndian(blob.Slice(4 + i * 4));
        return new PrecompiledCharsMap(units, blob[(4 + (int)trieSize)..].ToArray(), source);
    }

    /// <summary>
    /// The longest rule whose source is a prefix of <paramref name="input"/>: its length in bytes and its
    /// replacement (possibly empty: a rule may delete). False when no rule matches.
    /// </summary>
    public bool TryMatch(ReadOnlySpan<byte> input, out int matchedLength, out ReadOnlySpan<byte> replacement)
    {
        matchedLength = 0;
        int value = -1;

        // darts-clone commonPrefixSearch: walk one byte per step; a unit whose label differs ends the walk, and a
        // node with a leaf child marks a complete rule (the last one seen is the longest).
        uint node = Offset(Unit(0));
        for (int i = 0; i < input.Length; i++)
        {
            byte label = input[i];
            node ^= label;
            uint unit = Unit(node);
            if (Label(unit) != label)
                break;
            node ^= Offset(unit);
            if (HasLeaf(unit))
            {
                matchedLength = i + 1;
                value = (int)(Unit(node) & 0x7FFFFFFFu);
            }
        }
        if (value < 0)
        {
            replacement = default;
            return false;
        }
        if (value >= _replacements.Length)
            throw new TokenizerLoadException($"{_source}: a rule points at byte {value} of {_replacements.Length} replacement bytes.");
        replacement = _replacements.AsSpan(value);
        int end = replacement.IndexOf((byte)0);
        replacement = end >= 0 ? replacement[..end] : replacement;
        return true;
    }

    private uint Unit(uint index) => index < (uint)_units.Length
        ? _units[index]
        : throw new TokenizerLoadException($"{_source}: the trie points at unit {index} of {_units.Length}.");

    // darts-clone unit layout: bits 0-7 label (bit 31 set on leaf units, so they never match a byte), bit 8 has-leaf,
    // bit 9 offset scale (<< 8), bits 10-31 offset.
    private static uint Label(uint unit) => unit & (0x80000000u | 0xFFu);

    private static bool HasLeaf(uint unit) => ((unit >> 8) & 1) == 1;

    private static uint Offset(uint unit) => (unit >> 10) << (int)((unit & (1u << 9)) >> 6);
}
