using Condensa.Speculative;

namespace Condensa.Cli.Bench;

/// <summary>
/// One entry of <c>bench --speculative</c>: a mode (none, draft, self, lookup, tree-draft, tree-self), optionally pinned with
/// "@N": a chain's γ (self@12) or a tree's node count (tree-self@9). Pinned entries beside the planner's in one run give the
/// best fixed γ or tree and the planner's speedup against the same plain decoding, without a process (and a prefill of
/// every prompt for plain decoding) per γ.
/// </summary>
/// <param name="Name">The entry as given: the name of its table row, its JSON row and its trace lines.</param>
/// <param name="Mode">The mode without the pin: what picks the draft model and the calibration.</param>
/// <param name="Pin">The γ or tree size after "@", or null for the planner's (or --gamma / --tree-size's).</param>
internal sealed record BenchMode(string Name, string Mode, int? Pin)
{
    private static readonly string[] Modes = ["none", "draft", "self", "lookup", "tree-draft", "tree-self"];

    /// <summary>Whether the mode drafts token trees.</summary>
    public bool Tree => Mode.StartsWith("tree-", StringComparison.Ordinal);

    /// <summary>Who drafts (draft, self, lookup; none for plain decoding): a chain and a tree of one drafter share its calibration.</summary>
    public string Drafter => Tree ? Mode["tree-".Length..] : Mode;

    /// <summary>Parses an entry; an unknown mode, a pin on plain decoding and a pin below 1 are one error naming the entry.</summary>
    public static BenchMode Parse(string entry)
    {
        var at = entry.IndexOf('@');
        var mode = at < 0 ? entry : entry[..at];
        if (!Modes.Contains(mode))
            throw new ArgumentException($"--speculative '{entry}': '{mode}' is not one of {string.Join(", ", Modes)}.");
        if (at < 0) return new BenchMode(entry, mode, null);
        if (mode == "none") throw new ArgumentException($"--speculative '{entry}': plain decoding has no γ or tree size to pin.");
        return int.TryParse(entry[(at + 1)..], out var pin) && pin >= 1
            ? new BenchMode(entry, mode, pin)
            : throw new ArgumentException($"--speculative '{entry}': after '@' comes a positive γ (chains) or tree size in nodes (trees).");
    }

    /// <summary>The library's options for this entry: the pin, where given, replaces <paramref name="gamma"/> or
    /// <paramref name="treeSize"/> (and raises the largest γ to a pinned γ above it).</summary>
    public SpeculationOptions Options(int? gamma, int sinks, int window, int? treeSize, int? treeDepth, int? maxWindow = null)
    {
        var kind = Mode switch
        {
            "none" => SpeculationMode.None,
            "lookup" => SpeculationMode.Lookup,
            "draft" or "tree-draft" => SpeculationMode.Draft,
            _ => SpeculationMode.Self,
        };
        var chainGamma = Tree ? gamma : Pin ?? gamma;
        return new SpeculationOptions
        {
            Mode = kind, Tree = Tree, Gamma = chainGamma, MaxGamma = Math.Max(Speculation.DefaultMaxGamma, chainGamma ?? 0), Sinks = sinks,
            Window = window, MaxWindow = maxWindow, TreeSize = Tree ? Pin ?? treeSize : treeSize, TreeDepth = treeDepth,
        };
    }
}
