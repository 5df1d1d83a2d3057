using Condensa.Runtime;
using Condensa.Runtime.Batching;
using Condensa.Runtime.Sampling;
using Condensa.Speculative.Trees;

namespace Condensa.Speculative;

/// <summary>
/// Builds the decode step for a <see cref="SpeculationOptions"/>: the drafter, the planner of each round's proposal
/// (γ, or the tree) and the speculative step around them, or plain decoding for <see cref="SpeculationMode.None"/>. Every
/// front end (the CLI, <c>chat</c>, the server, the IChatClient, the library's <see cref="Runtime.Generation.Generator"/>)
/// gets speculation from here.
/// </summary>
public static class Speculation
{
    /// <summary>The largest γ the adaptive controller chooses by default.</summary>
    public const int DefaultMaxGamma = 12;

    /// <summary>The largest tree the planner chooses by default.</summary>
    public const int DefaultMaxTreeNodes = 64;

    /// <summary>
    /// The decode step for <paramref name="options"/>, for a loop of <paramref name="batchSize"/> rows. The step owns its
    /// drafter (dispose it); it serves one loop at a time.
    /// </summary>
    /// <param name="target">The model that verifies.</param>
    /// <param name="options">Which speculation.</param>
    /// <param name="batchSize">Rows of the loop's cache (a drafter's cache has as many).</param>
    /// <param name="sampling">The drafts' sampling (the rows' own samplers verify); greedy drafts are verified as one-hot.</param>
    /// <param name="draft">The draft model of <see cref="SpeculationMode.Draft"/>; for <see cref="SpeculationMode.Self"/>, optionally
    /// the target's own checkpoint exported at another precision, which then runs the drafts over the budget (a float16 copy
    /// of a float32 target drafts with its cheaper passes; <see cref="SelfDrafter"/>), else the target drafts itself.</param>
    /// <param name="stats">Receives the rounds' figures.</param>
    public static IDecodeStep CreateStep(IDecoder target, SpeculationOptions options, int batchSize, SamplingOptions sampling, IDecoder? draft = null,
        SpeculativeStats? stats = null)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(sampling);
        options.Validate();
        if (options.Mode == SpeculationMode.None) return new PlainDecodeStep();
        CheckTarget(target.Manifest);
        options = ForBatch(options, batchSize);
        IDrafter drafter = options.Mode switch
        {
            SpeculationMode.Lookup => new PromptLookupDrafter(),
            SpeculationMode.Draft => ModelDrafter.ForDraftModel(draft ?? throw new CondensaException(
                "draft speculation needs a draft model (--draft NAME, or a catalog model with a 'draft' pairing)."), target.Manifest, batchSize, sampling),
            _ => ModelDrafter.ForSelfSpeculation(target, SelfBudget(options), SelfDraftNodes(options), batchSize, sampling, draft),
        };
        return new SpeculativeDecodeStep(drafter, Planner(options, drafter, target), sampling.Seed, stats, ownsDrafter: true);
    }

    /// <summary>The planner: a Sequoia tree per round, sized from the calibration (or a prior), or a chain of γ for
    /// <paramref name="drafter"/> and <paramref name="target"/> (<see cref="ChainPlanner"/>, which starts from the calibration
    /// where there is one).</summary>
    public static IDraftPlanner Planner(SpeculationOptions options, IDrafter? drafter = null, IDecoder? target = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.Tree) return new ChainPlanner(options.Gamma, options.MaxGamma, drafter, target, options.Calibration);
        var calibration = options.Calibration ?? TreeCalibration.Default(DraftContextLimit(options));
        return new TreePlanner(calibration, options.TreeSize, options.TreeDepth, TreeMaxNodes(options));
    }

    // The largest tree a planner of these options returns (TreePlanner.MaxNodes).
    private static int TreeMaxNodes(SpeculationOptions options) => Math.Max(options.MaxTreeNodes, options.TreeSize ?? 1);

    /// <summary>The most tokens a self-speculation draft attends to (its budget's slots), or null for a draft model.</summary>
    public static int? DraftContextLimit(SpeculationOptions options) =>
        options.Mode == SpeculationMode.Self ? SelfBudget(options).Slots : null;

    /// <summary>Refuses a layer-condensed target: verifying several drafted tokens in one pass is not exact for it.</summary>
    public static void CheckTarget(ModelManifest target)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (target.KvLayers.Length != target.NumLayers)
            throw new CondensaException($"{target.Architecture} stores KV for {target.KvLayers.Length} of {target.NumLayers} layers (layer-condensed): " +
                "verifying several drafted tokens in one pass is not exact for such a target, because its lower layers read KV that later tokens' " +
                "upper layers have not produced yet. Use it as a draft, or generate without --speculative.");
    }

    /// <summary>
    /// Self-speculation's budget: the options' sinks and window, and a slack of the window plus a round's entries. A row
    /// drops its oldest recent entries by copying the last window down once its slack is full; with this slack that copy
    /// never overlaps itself (the compaction moves it at least a window down), so on cuda it is one strided copy a tensor,
    /// rows at one length together, and it comes once every ~window tokens a row. With a quarter of the window (rounds
    /// 18-22) the copy came every 64 tokens and overlapped itself, so it went through kv_write's index of every entry: 9-11
    /// ms in the rounds where the rows of a static batch of 64 made room together; in a full batch of 64 rows at 7,680
    /// tokens a round's drafting took 5.1 ms with that slack and 4.0 with this one (docs/benchmarks.md, round 23). The
    /// draft reads up to a window more recent positions in return, within its launch-bound step.
    /// </summary>
    public static KvBudget SelfBudget(SpeculationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new KvBudget(options.Sinks, options.Window, options.Window + SelfDraftNodes(options) + 1);
    }

    /// <summary>The most a widened self-speculation window may add to a draft step's time, as a share of its time at
    /// <see cref="SpeculationOptions.Window"/>: with a round's drafts about half its time, about a tenth of the round, for a
    /// window that keeps more of a long context in the draft's view (on an H100, one row at 7,680 tokens: 95 % of the drafts
    /// accepted over a 1,024-token window against 68 % over 256, each draft step 15 % longer; docs/benchmarks.md, round 35).</summary>
    public const double WindowCostShare = 0.20;

    /// <summary>The widest window self-speculation widens to where <see cref="SpeculationOptions.MaxWindow"/> is not given.</summary>
    public const int DefaultMaxWindow = 4096;

    /// <summary>
    /// Self-speculation's window for a loop of <paramref name="batchSize"/> rows: <see cref="SpeculationOptions.Window"/>,
    /// doubled while the wider budget's draft step, priced by the calibration's chain draft step over the budget's slots,
    /// costs at most <see cref="WindowCostShare"/> more, up to <see cref="SpeculationOptions.MaxWindow"/> (by default
    /// <see cref="DefaultMaxWindow"/>) and to the slots the calibration timed the draft step at (one that timed it over
    /// the budget alone prices nothing past it, so it keeps the window). A draft step's reads grow with rows times slots:
    /// at few rows on a GPU its time is its launches, and the window widens; at many rows it stays.
    /// </summary>
    public static int SelfWindow(SpeculationOptions options, int batchSize)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Mode != SpeculationMode.Self || options.Calibration is not { } calibration) return options.Window;
        var widest = options.MaxWindow ?? Math.Max(options.Window, DefaultMaxWindow);
        var timed = calibration.ChainDraftSamples.Select(s => s.Context).DefaultIfEmpty(0).Max();
        double Seconds(int window) => calibration.ChainDraftStep.Seconds(batchSize, 1, SelfBudget(options with { Window = window }).Slots);
        var limit = Seconds(options.Window) * (1 + WindowCostShare);
        var chosen = options.Window;
        for (var wider = chosen * 2L; wider <= widest; wider *= 2)
        {
            var slots = SelfBudget(options with { Window = (int)wider }).Slots;
            if (slots > timed || Seconds((int)wider) > limit) break;
            chosen = (int)wider;
        }
        return chosen;
    }

    /// <summary>The options a loop of <paramref name="batchSize"/> rows runs: self-speculation's window widened for them
    /// (<see cref="SelfWindow"/>), the calibration's draft limit following its budget.</summary>
    public static SpeculationOptions ForBatch(SpeculationOptions options, int batchSize)
    {
        ArgumentNullException.ThrowIfNull(options);
        var window = SelfWindow(options, batchSize);
        if (window == options.Window) return options;
        var widened = options with { Window = window };
        return widened with { Calibration = options.Calibration! with { DraftContextLimit = SelfBudget(widened).Slots } };
    }

    // The draft entries a round adds past the committed tokens: γ for a chain (root + γ - 1 fed drafts), the whole tree.
    private static int SelfDraftNodes(SpeculationOptions options) => options.Tree ? TreeMaxNodes(options) : options.MaxGamma;
}
