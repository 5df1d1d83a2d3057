using Condensa.Runtime;
using Condensa.Speculative.Trees;

namespace Condensa.Speculative;

/// <summary>
/// Prompt lookup (n-gram) drafting: find the most recent earlier occurrence of the sequence's last n tokens (longest
/// n first) and propose the tokens that followed it. Free to run and strong when output copies input (extraction,
/// code edits). The copy may overlap what it writes, as in LZ77: a match d tokens back whose continuation reaches the
/// sequence's end goes on into the drafts themselves, so a loop of period d (which greedy decoding of a small model
/// falls into) is drafted as deep as the round allows instead of stopping at the end; a static batch's last rows were
/// such loops on cuda, drafting 2 tokens a round for 50 rounds (docs/benchmarks.md, round 16). Drafts are deterministic,
/// so verification treats them as one-hot.
/// </summary>
public sealed class PromptLookupDrafter : IDrafter
{
    private readonly int _maxNgram;
    private readonly int _minNgram;
    private int[] _draft = [];

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
    public bool DraftsCostPasses => false;

    /// <inheritdoc />
    public void Propose(KvCache target, IReadOnlyList<List<int>> rows, ReadOnlySpan<bool> active, TreeShape shape, TreeDrafts output)
    {
        output.HasDistributions = false;
        if (_draft.Length < output.MaxNodes) _draft = new int[output.MaxNodes];
        for (var b = 0; b < rows.Count; b++)
        {
            if (!active[b]) continue;
            // a chain as deep as the shape allows: lookup has one continuation per match, so a tree's branches stay empty
            var tokens = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(rows[b]);
            var depth = Math.Min(Math.Min(shape.Depth, output.DepthLimits[b]), output.MaxNodes - 1);
            var n = Lookup(tokens, depth, _draft);
            var tree = output.Trees[b];
            tree.Reset(tokens[^1]);
            for (var i = 0; i < n; i++) tree.Add(i, _draft[i]);
        }
    }

    /// <summary>Writes <paramref name="gamma"/> tokens of the continuation of the latest earlier match of the longest
    /// matching suffix, copied with overlap; returns how many (0 without a match).</summary>
    internal int Lookup(ReadOnlySpan<int> tokens, int gamma, Span<int> draft)
    {
        if (gamma <= 0) return 0;
        var length = tokens.Length;
        for (var n = Math.Min(_maxNgram, length - 1); n >= _minNgram; n--)
        {
            var suffix = tokens[^n..];
            // Latest start i < length - n whose n tokens equal the suffix, so at least one token follows it.
            for (var i = length - n - 1; i >= 0; i--)
            {
                if (!tokens.Slice(i, n).SequenceEqual(suffix)) continue;
                // draft k is the token d = length - n - i places before it in tokens ++ draft
                var distance = length - n - i;
                for (var k = 0; k < gamma; k++)
                {
                    var source = length + k - distance;
                    draft[k] = source < length ? tokens[source] : draft[source - length];
                }
                return gamma;
            }
        }
        return 0;
    }

    /// <inheritdoc />
    public void Dispose() { }
}
