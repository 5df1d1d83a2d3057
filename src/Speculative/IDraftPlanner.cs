using Condensa.Speculative.Trees;

namespace Condensa.Speculative;

/// <summary>Chooses each round's proposal: a chain of γ tokens (<see cref="ChainPlanner"/>) or a Sequoia tree
/// (<see cref="TreePlanner"/>), from measured acceptance and step times at the round's batch and context.</summary>
public interface IDraftPlanner
{
    /// <summary>Largest proposal, in nodes with the root (sizes the buffers and a self-speculation budget's slack).</summary>
    int MaxNodes { get; }

    /// <summary>The shape for a round of <paramref name="activeRows"/> rows at <paramref name="context"/> tokens.</summary>
    TreeShape Next(int activeRows, int context);

    /// <summary>Records a round of <paramref name="shape"/> over <paramref name="activeRows"/> rows: the most drafts any row
    /// proposed (<paramref name="longestProposal"/>, fewer than the shape's where a drafter found fewer, 0 for a plain pass),
    /// drafts proposed and accepted (all rows), draft and verify wall time.</summary>
    void Observe(TreeShape shape, int activeRows, int longestProposal, int proposed, int accepted, TimeSpan draftTime, TimeSpan verifyTime) { }
}
