using Condensa.Runtime;
using Condensa.Runtime.Generation;
using Condensa.Speculative.Trees;

namespace Condensa.Speculative;

/// <summary>How <see cref="SpeculativeGenerator"/> runs with a caller's drafter.</summary>
public sealed record SpeculativeOptions
{
    /// <summary>Length, sampling and stop tokens, exactly as in plain generation.</summary>
    public GenerationOptions Generation { get; init; } = new();

    /// <summary>Fixed draft length of a chain; null = adapt γ from measured acceptance and step times.</summary>
    public int? Gamma { get; init; }

    /// <summary>Largest γ the adaptive controller may choose. 12 is past the optimum for any acceptance rate
    /// below 0.9 at the step-time ratios seen here, so it rarely binds.</summary>
    public int MaxGamma { get; init; } = Speculation.DefaultMaxGamma;

    /// <summary>Draft token trees sized by this planner (Sequoia) instead of chains of γ tokens.</summary>
    public TreePlanner? Planner { get; init; }

    /// <summary>The planner of a round's proposal for <paramref name="drafter"/> and <paramref name="target"/>: the tree planner,
    /// or a chain planner over γ.</summary>
    internal IDraftPlanner CreatePlanner(IDrafter drafter, IDecoder target) => Planner ?? (IDraftPlanner)new ChainPlanner(Gamma, MaxGamma, drafter, target);
}
