using Condensa.Runtime;

namespace Condensa.Speculative;

/// <summary>
/// Prompt lookup (n-gram) drafting: find the most recent earlier occurrence of the sequence's last n tokens (longest
/// n first) and propose the tokens that followed it. Free to run and strong when output copies input (extraction,
/// code edits). Drafts are deterministic, so verification treats them as one-hot.
/// </summary>
public sealed class PromptLookupDrafter : IDrafter
{
    private readonly int _maxNgram;
    private readonly int _minNgram;

    /// <summary>Creates a drafter matching suffixes of <paramref name="minNgram"/>..<paramref name="maxNgram"/> tokens.</summary>
    public PromptLookupDrafter(int maxNgram = 3, int minNgram = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(minNgram, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxNgram, minNgram);
        (_maxNgram, _minNgram) = (maxNgram, minNgram);
    }

    /// <inheritdoc />
    public string Name => "lookup";

    /// <inheritdoc />
    public void ObservePrefill(KvCache target, ReadOnlySpan<int> counts) { }

    /// <inheritdoc />
    public void Propose(IReadOnlyList<List<int>> rows, ReadOnlySpan<bool> active, int gamma, DraftBuffers output)
    {
        output.HasDistributions = false;
        for (var b = 0; b < rows.Count; b++)
        {
            output.Counts[b] = 0;
            if (!active[b]) continue;
            var tokens = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(rows[b]);
            output.Counts[b] = Lookup(tokens, gamma, output.Tokens.AsSpan(b * output.MaxGamma, gamma));
        }
    }

    /// <summary>Writes the continuation of the latest earlier match of the longest matching suffix; returns its length.</summary>
    internal int Lookup(ReadOnlySpan<int> tokens, int gamma, Span<int> draft)
    {
        for (var n = Math.Min(_maxNgram, tokens.Length - 1); n >= _minNgram; n--)
        {
            var suffix = tokens[^n..];
            // Latest start i < length - n whose n tokens equal the suffix and that has at least one follower.
            for (var i = tokens.Length - n - 1; i >= 0; i--)
            {
                if (!tokens.Slice(i, n).SequenceEqual(suffix)) continue;
                var follow = tokens.Slice(i + n, Math.Min(gamma, tokens.Length - i - n));
                follow.CopyTo(draft);
                return follow.Length;
            }
        }
        return 0;
    }

    /// <inheritdoc />
    public void Commit(KvCache target, ReadOnlySpan<int> lengthsBefore, ReadOnlySpan<int> accepted, ReadOnlySpan<bool> active) { }

    /// <inheritdoc />
    public void Dispose() { }
}
