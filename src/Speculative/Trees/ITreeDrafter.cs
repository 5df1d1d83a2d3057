using Condensa.Runtime;

namespace Condensa.Speculative.Trees;

/// <summary>
/// A source of draft token trees. The loop calls <see cref="ObservePrefill"/> after each target prefill pass,
/// <see cref="Propose"/> at the start of each round, and <see cref="Commit"/> once the accepted paths are known.
/// </summary>
public interface ITreeDrafter : IDisposable
{
    /// <summary>Short name for stats.</summary>
    string Name { get; }

    /// <summary>Seen after each target prefill pass: counts[b] prompt tokens of row b were appended to the target cache.</summary>
    void ObservePrefill(KvCache target, ReadOnlySpan<int> counts);

    /// <summary>
    /// Drafts a tree for each active row into output.Trees[b], shaped like <paramref name="shape"/> (the k-th child of a
    /// node is the k-th token drawn without replacement) and no deeper than output.DepthLimits[b]. rows[b] holds row b's
    /// committed tokens; its last token is the root and is not in the target cache yet.
    /// </summary>
    void Propose(IReadOnlyList<List<int>> rows, ReadOnlySpan<bool> active, TreeShape shape, TreeDrafts output);

    /// <summary>After verification: output.Path(b) is row b's accepted path, and the target's tree pass started at
    /// lengthsBefore[b] (the root's position).</summary>
    void Commit(KvCache target, ReadOnlySpan<int> lengthsBefore, TreeDrafts drafts, ReadOnlySpan<bool> active);
}
