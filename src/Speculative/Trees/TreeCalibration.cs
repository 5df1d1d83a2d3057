using System.Text.Json;
using System.Text.Json.Serialization;
using Condensa.Runtime;

namespace Condensa.Speculative.Trees;

/// <summary>
/// What <c>condensa calibrate</c> measures for one target + drafter pair, saved beside the target's export: the
/// positional acceptance vector and the step-time models of the target (verification) and the drafter.
/// </summary>
public sealed record TreeCalibration
{
    /// <summary>Which drafter was measured ("draft-NAME" or "self-SINKS-WINDOW").</summary>
    public required string Drafter { get; init; }

    /// <summary>p[k]: probability that the (k+1)-th ranked draft child of a node is the accepted one.</summary>
    public required double[] Acceptance { get; init; }

    /// <summary>Target (verification) pass time.</summary>
    public required StepTimeModel Target { get; init; }

    /// <summary>Draft pass time.</summary>
    public required StepTimeModel Draft { get; init; }

    /// <summary>Slots the draft ever attends to (a self-speculation budget), or null for the whole context.</summary>
    public int? DraftContextLimit { get; init; }

    /// <summary>Sampling temperature the acceptance was measured at (0 = greedy).</summary>
    public float Temperature { get; init; }

    /// <summary>Positions the acceptance vector was measured over.</summary>
    public int Positions { get; init; }

    /// <summary>The raw timings behind the fits.</summary>
    public StepTimeSample[] TargetSamples { get; init; } = [];

    /// <summary>The raw draft timings behind the fits.</summary>
    public StepTimeSample[] DraftSamples { get; init; } = [];

    /// <summary>A plain decoding step of the target (one token a row, the graph plain decoding runs), which prices a round of
    /// the root alone; null (a calibration from before it was measured, or the prior) prices it with <see cref="Target"/>.</summary>
    public StepTimeModel? Plain { get; init; }

    /// <summary>The raw plain-step timings behind <see cref="Plain"/>.</summary>
    public StepTimeSample[] PlainSamples { get; init; } = [];

    /// <summary>A chain's verification pass (S tokens a row at the rows' next positions, as a chain-shaped tree verifies:
    /// no tree mask), which prices a chain where a tree-shaped pass runs another graph; null (a calibration from before it
    /// was measured, or the prior) prices chains with <see cref="Target"/>.</summary>
    public StepTimeModel? ChainTarget { get; init; }

    /// <summary>The drafter's chain step (one token a row over its cache, as a chain drafts: a plain step, no tree mask), which
    /// prices a chain's drafts; null prices them with <see cref="Draft"/>. A float16 drafter's chain step ran at half a
    /// tree-shaped pass's time on cuda (docs/benchmarks.md, round 32).</summary>
    public StepTimeModel? ChainDraft { get; init; }

    /// <summary>The raw timings behind <see cref="ChainTarget"/>.</summary>
    public StepTimeSample[] ChainTargetSamples { get; init; } = [];

    /// <summary>The raw timings behind <see cref="ChainDraft"/>.</summary>
    public StepTimeSample[] ChainDraftSamples { get; init; } = [];

    /// <summary>A chain's verification model: <see cref="ChainTarget"/>, or <see cref="Target"/> where it was not measured.</summary>
    [JsonIgnore]
    public StepTimeModel ChainVerify => ChainTarget ?? Target;

    /// <summary>A chain's draft-step model: <see cref="ChainDraft"/>, or <see cref="Draft"/> where it was not measured.</summary>
    [JsonIgnore]
    public StepTimeModel ChainDraftStep => ChainDraft ?? Draft;

    /// <summary>Predicted seconds of a chain round at <paramref name="batch"/> rows and <paramref name="context"/> tokens:
    /// <paramref name="gamma"/> draft steps of one token at the drafter's context (<see cref="ChainDraftStep"/>) and a
    /// verification of <paramref name="verifyTokens"/> tokens a row (γ + 1 unless the target pads the pass;
    /// <see cref="ChainVerify"/>). What the chain planner and the tree planner's chain-shaped trees price a round by.</summary>
    public double ChainRoundSeconds(int batch, int gamma, int context, int? verifyTokens = null) =>
        gamma * ChainDraftStep.Seconds(batch, 1, Math.Min(context, DraftContextLimit ?? int.MaxValue))
        + ChainVerify.Seconds(batch, verifyTokens ?? gamma + 1, context);

    /// <summary>A prior for uncalibrated models: a moderately good draft, and a verify pass that costs about a decode step
    /// plus 2% per extra token, with a draft pass a tenth of that. Trees come out mid-sized (about 10-20 nodes).</summary>
    public static TreeCalibration Default(int? draftContextLimit = null) => new()
    {
        Drafter = "default",
        Acceptance = [0.6, 0.12, 0.05, 0.03, 0.02, 0.01, 0.01, 0.01],
        Target = new StepTimeModel(1.0, 0.02, 0.0002, 0),
        Draft = new StepTimeModel(0.1, 0.002, 0.00002, 0),
        DraftContextLimit = draftContextLimit,
    };

    /// <summary>The file name for a drafter key.</summary>
    public static string FileName(string drafter) => $"calibration-{drafter}.json";

    /// <summary>Writes the calibration into <paramref name="exportDir"/>; returns the path.</summary>
    public string Save(string exportDir)
    {
        var path = Path.Combine(exportDir, FileName(Drafter));
        File.WriteAllText(path, JsonSerializer.Serialize(this, Json));
        return path;
    }

    /// <summary>Reads the calibration of <paramref name="drafter"/> from <paramref name="exportDir"/>, or null when none was saved.</summary>
    public static TreeCalibration? Load(string exportDir, string drafter)
    {
        var path = Path.Combine(exportDir, FileName(drafter));
        if (!File.Exists(path)) return null;
        try
        {
            return JsonSerializer.Deserialize<TreeCalibration>(File.ReadAllText(path), Json)
                ?? throw new CondensaException($"{path}: empty calibration file.");
        }
        catch (JsonException e)
        {
            throw new CondensaException($"{path}: not a calibration file ({e.Message}); rerun condensa calibrate.", e);
        }
    }

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };
}
