using Condensa.Speculative.Trees;

namespace Condensa.Speculative;

/// <summary>Where drafts come from.</summary>
public enum SpeculationMode
{
    /// <summary>Plain decoding, one token per pass.</summary>
    None,
    /// <summary>Prompt lookup: continuations of the last n-gram's earlier occurrence (free; strong when output copies input).</summary>
    Lookup,
    /// <summary>A smaller model with the target's tokenizer.</summary>
    Draft,
    /// <summary>The target itself over a sink + window KV budget (MagicDec).</summary>
    Self,
}

/// <summary>Which speculative decoding to run, as a user chooses it; <see cref="Speculation.CreateStep"/> builds it.</summary>
public sealed record SpeculationOptions
{
    /// <summary>Where drafts come from.</summary>
    public SpeculationMode Mode { get; init; } = SpeculationMode.None;

    /// <summary>Sequoia token trees sized per round by a <see cref="TreePlanner"/> instead of chains of γ tokens
    /// (draft and self modes).</summary>
    public bool Tree { get; init; }

    /// <summary>Fixed chain length; null adapts γ to measured acceptance and step times.</summary>
    public int? Gamma { get; init; }

    /// <summary>Largest γ the adaptive controller may choose.</summary>
    public int MaxGamma { get; init; } = Speculation.DefaultMaxGamma;

    /// <summary>Attention-sink tokens of the self-speculation budget.</summary>
    public int Sinks { get; init; } = 16;

    /// <summary>Recent-token window of the self-speculation budget: the draft sees at least this many recent tokens, and up
    /// to as many again (and a round's entries) before the budget drops its oldest ones (<see cref="Speculation.SelfBudget"/>).</summary>
    public int Window { get; init; } = 256;

    /// <summary>Widest window self-speculation may widen <see cref="Window"/> to, doubling it while the draft step stays within
    /// <see cref="Speculation.WindowCostShare"/> of its time at <see cref="Window"/> at the loop's rows, as the calibration
    /// prices it (<see cref="Speculation.SelfWindow"/>): a wider window keeps more of the context in the draft's view, and
    /// where a draft step is bound by its launches (few rows on a GPU) reading it costs little. Null widens up to
    /// <see cref="Speculation.DefaultMaxWindow"/>; <see cref="Window"/> itself keeps the window; so does a loop without a
    /// calibration, or with one that timed the draft steps over the budget alone.</summary>
    public int? MaxWindow { get; init; }

    /// <summary>Pinned tree size in nodes; null sizes each round's tree from the calibration.</summary>
    public int? TreeSize { get; init; }

    /// <summary>Pinned tree depth; null chooses it with the size.</summary>
    public int? TreeDepth { get; init; }

    /// <summary>Largest tree the planner may choose (and the self-speculation budget's slack for trees): Sequoia's gains
    /// flatten past a few dozen nodes, while verify cost keeps growing.</summary>
    public int MaxTreeNodes { get; init; } = Speculation.DefaultMaxTreeNodes;

    /// <summary>Step times and acceptance measured by <c>condensa calibrate</c> for this pair: they size trees (null: a default
    /// prior) and give an adaptive chain its first γ (null: it explores from γ = 1).</summary>
    public TreeCalibration? Calibration { get; init; }

    /// <summary>Whether a second model drafts.</summary>
    public bool UsesDraftModel => Mode == SpeculationMode.Draft;

    /// <summary>The name stats use: lookup, draft, self, tree-draft, tree-self; none for plain decoding.</summary>
    public string Name => Mode == SpeculationMode.None ? "none" : (Tree ? "tree-" : "") + Mode.ToString().ToLowerInvariant();

    /// <summary>Checks every field and names the first one out of range.</summary>
    public void Validate()
    {
        if (Gamma is < 1) throw new ArgumentOutOfRangeException(nameof(Gamma), Gamma, "gamma must be >= 1");
        if (MaxGamma < 1) throw new ArgumentOutOfRangeException(nameof(MaxGamma), MaxGamma, "MaxGamma must be >= 1");
        if (Sinks < 0) throw new ArgumentOutOfRangeException(nameof(Sinks), Sinks, "Sinks must be >= 0");
        if (Window < 1) throw new ArgumentOutOfRangeException(nameof(Window), Window, "Window must be >= 1");
        if (MaxWindow < Window) throw new ArgumentOutOfRangeException(nameof(MaxWindow), MaxWindow, $"MaxWindow must be >= Window ({Window})");
        if (TreeSize is < 1) throw new ArgumentOutOfRangeException(nameof(TreeSize), TreeSize, "a tree has at least one node");
        if (TreeDepth is < 1) throw new ArgumentOutOfRangeException(nameof(TreeDepth), TreeDepth, "the tree depth must be at least 1");
        if (Tree && Mode is SpeculationMode.None or SpeculationMode.Lookup)
            throw new ArgumentException($"token trees are drafted by a model (draft or self), not by {Mode.ToString().ToLowerInvariant()}", nameof(Tree));
    }
}
