using Condensa.Runtime.Generation;

namespace Condensa.Speculative.Trees;

/// <summary>How tree speculative generation runs.</summary>
public sealed record TreeSpeculativeOptions
{
    /// <summary>Length, sampling and stop tokens, exactly as in plain generation.</summary>
    public GenerationOptions Generation { get; init; } = new();

    /// <summary>Chooses each round's tree (calibrated, or pinned to a size and depth).</summary>
    public required TreePlanner Planner { get; init; }
}
