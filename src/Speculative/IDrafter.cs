using Condensa.Runtime;

namespace Condensa.Speculative;

/// <summary>
/// A source of draft tokens for chain speculation. The loop calls <see cref="ObservePrefill"/> after each target
/// prefill pass, <see cref="Propose"/> at the start of each round, and <see cref="Commit"/> after verification.
/// </summary>
public interface IDrafter : IDisposable
{
    /// <summary>Short name for stats (draft, self, lookup).</summary>
    string Name { get; }

    /// <summary>Seen after each target prefill pass: counts[b] prompt tokens of row b were appended to the target cache.</summary>
    void ObservePrefill(KvCache target, ReadOnlySpan<int> counts);

    /// <summary>
    /// Drafts up to <paramref name="gamma"/> tokens for each active row into <paramref name="output"/>.
    /// rows[b] holds row b's committed tokens; its last token is not in the target cache yet.
    /// </summary>
    void Propose(IReadOnlyList<List<int>> rows, ReadOnlySpan<bool> active, int gamma, DraftBuffers output);

    /// <summary>After verification: row b accepted accepted[b] of its drafts, and the target's verification pass
    /// started at lengthsBefore[b] (the position of the row's last committed token).</summary>
    void Commit(KvCache target, ReadOnlySpan<int> lengthsBefore, ReadOnlySpan<int> accepted, ReadOnlySpan<bool> active);
}
