using Condensa.Runtime.Generation;

namespace Condensa.Speculative;

/// <summary>How speculative generation runs.</summary>
public sealed record SpeculativeOptions
{
    /// <summary>Length, sampling and stop tokens, exactly as in plain generation.</summary>
    public GenerationOptions Generation { get; init; } = new();

    /// <summary>Fixed draft length; null = adapt γ from measured acceptance and step times.</summary>
    public int? Gamma { get; init; }

    /// <summary>Largest γ the adaptive controller may choose. 12 is past the optimum for any acceptance rate
    /// below 0.9 at the step-time ratios seen here, so it rarely binds.</summary>
    public int MaxGamma { get; init; } = 12;
}
