using System.Text;

namespace Condensa.Tokenization;

/// <summary>
/// Turns token ids into text as they arrive. Text is released only up to the last complete UTF-8 sequence, so
/// a character spread over several byte tokens comes out whole once its last byte arrives; SentencePiece
/// space markers are resolved per piece, so no '▁' is ever emitted or lost. The concatenation of every
/// <see cref="Append"/> and the final <see cref="Flush"/> equals <see cref="CheckpointTokenizer.Decode"/> of
/// the same ids. One decoder serves one sequence; it is not thread-safe.
/// </summary>
public sealed class StreamingDecoder
{
    private readonly TokenByteTable _table;
    private readonly bool _skipSpecialTokens;
    private readonly List<byte> _pending = new();   // bytes received but not yet released as text
    private bool _atStart = true;

    internal StreamingDecoder(TokenByteTable table, bool skipSpecialTokens)
    {
        _table = table;
        _skipSpecialTokens = skipSpecialTokens;
    }

    /// <summary>Adds one token and returns the text it completes, possibly "".</summary>
    /// <exception cref="ArgumentOutOfRangeException">The id is not in the vocabulary.</exception>
    public string Append(int tokenId)
    {
        ReadOnlySpan<byte> bytes = _table.BytesOf(tokenId, _skipSpecialTokens, ref _atStart);
        foreach (byte b in bytes)
            _pending.Add(b);
        int complete = CompletePrefixLength(_pending);
        return Release(complete);
    }

    /// <summary>Returns whatever is held back (an unfinished UTF-8 sequence decodes to U+FFFD) and empties the decoder.</summary>
    public string Flush() => Release(_pending.Count);

    /// <summary>Forgets pending bytes and starts a new sequence.</summary>
    public void Reset()
    {
        _pending.Clear();
        _atStart = true;
    }

    private string Release(int count)
    {
        if (count == 0)
            return string.Empty;
        var span = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_pending)[..count];
        string text = Encoding.UTF8.GetString(span);
        _pending.RemoveRange(0, count);
        return text;
    }

    /// <summary>
    /// Length of the longest prefix that does not end inside a UTF-8 sequence still waiting for continuation
    /// bytes. Invalid bytes count as complete (they decode to U+FFFD either way).
    /// </summary>
    internal static int CompletePrefixLength(List<byte> bytes)
    {
        int n = bytes.Count;
        // A sequence is at most 4 bytes: look back at most 3 continuation bytes for its lead byte.
        for (int back = 1; back <= Math.Min(4, n); back++)
        {
            byte b = bytes[n - back];
            if ((b & 0xC0) == 0x80)
                continue;                      // continuation byte: keep looking for the lead
            int need = b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 1;
            return need > back ? n - back : n;
        }
        return n;
    }
}
