using Condensa.Runtime;
using Condensa.Speculative.Trees;

namespace Condensa.Speculative;

/// <summary>
/// A source of drafts: each round it fills a token tree per row in the shape the planner chose, a chain
/// (<see cref="TreeShape.Chain"/>) being the tree with one child per level. The decode step tells it when a row takes a
/// new document and shows it every prefill pass, calls <see cref="Propose"/> at the start of each round and
/// <see cref="Commit"/> once the accepted paths are known.
/// </summary>
public interface IDrafter : IDisposable
{
    /// <summary>Short name for stats (draft, self, lookup).</summary>
    string Name { get; }

    /// <summary>Whether drafts are drawn from distributions the verifier must see (TreeDrafts.Distributions); false:
    /// drafts are chosen deterministically and verified as one-hot.</summary>
    bool SamplesDrafts => false;

    /// <summary>Whether each drafted token costs a model pass (a draft model, self-speculation); false: drafts cost next
    /// to nothing (prompt lookup), so an adaptive planner may explore long chains first (<see cref="ChainPlanner"/>).</summary>
    bool DraftsCostPasses => true;

    /// <summary>A new document took the target's <paramref name="row"/>, which holds the document's cached tokens (none,
    /// unless a conversation continues in a kept cache; rows[b] of <see cref="Propose"/> then starts with them).</summary>
    void RowStarted(KvCache target, int row) { }

    /// <summary>A prefill pass appended the prompt tokens <paramref name="chunk"/> to the target's <paramref name="row"/>:
    /// the last chunk.Length entries of <paramref name="source"/>'s row <paramref name="sourceRow"/>.</summary>
    void PrefillPassed(KvCache source, int sourceRow, int row, ReadOnlySpan<int> chunk) { }

    /// <summary>The decode loop moved decoding documents into empty rows of the target
    /// (<see cref="Runtime.Batching.IDecodeStep.RowsMoved"/>): state kept per row moves with them.</summary>
    void RowsMoved(KvCache target, ReadOnlySpan<RowMove> moves) { }

    /// <summary>
    /// Drafts a tree for each active row into output.Trees[b], shaped like <paramref name="shape"/> (or a sub-tree of it:
    /// the k-th child of a node is the k-th token drawn without replacement) and no deeper than output.DepthLimits[b].
    /// rows[b] holds row b's committed tokens; its last token is the root and is not in the <paramref name="target"/>
    /// cache yet (which holds the others). Rounds the planner makes the root alone are plain decoding steps that reach
    /// neither this nor <see cref="Commit"/>: a drafter keeping state catches up with the tokens it missed here.
    /// </summary>
    void Propose(KvCache target, IReadOnlyList<List<int>> rows, ReadOnlySpan<bool> active, TreeShape shape, TreeDrafts output);

    /// <summary>After verification: drafts.Path(b) is row b's accepted path (root first), which the target cache now
    /// holds from lengthsBefore[b] (the root's position) on.</summary>
    void Commit(KvCache target, ReadOnlySpan<int> lengthsBefore, TreeDrafts drafts, ReadOnlySpan<bool> active) { }
}
