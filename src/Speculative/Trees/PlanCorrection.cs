namespace Condensa.Speculative.Trees;

/// <summary>
/// What a tree planner's rounds measured against what it predicted for them, by batch (in powers of two: 1, 2-3, 4-7, ...,
/// so a static batch's tail does not start over at every row that finishes): the ratio of a round's measured rate (tokens
/// a row per second) to its predicted one, kept apart for plain rounds (the root alone) and for drafting rounds, as a
/// factor on the predicted rates of the next choices. Both sides count: a calibration from another machine, or none (the
/// prior), may misprice plain decoding as much as drafting. A calibration prices passes from a few timed shapes,
/// and a round runs more than its passes (a draft model feeding the tokens it lacks, host work between passes): in round
/// 36 the planner's 3-node trees drafted by demo-code-draft at 8 rows were predicted a few percent over plain decoding and
/// ran at 0.69x of it, their two draft passes taking 2.2 ms a round where the fit priced ~1.4.
/// A drafting ratio that turned drafting off would never be measured again, and it measures the text as well as the
/// machine (a hard stretch accepts little): so while plain rounds run at a batch where drafting was measured,
/// drafting is probed now and then (<see cref="ProbeDrafting"/>), and a probe's round sets the ratio anew; beside
/// the ratio of rates a ratio of seconds tells whether drafting could pay at all. Round 38's one-row tree-draft
/// cell on an H100 turned drafting off after four hard rounds of twenty and ran plain for the other 430 (1.02x,
/// where the draft chain ran 1.61x).
/// </summary>
internal sealed class PlanCorrection
{
    private const double Smoothing = GammaController.Smoothing;   // recent rounds matter more as the context grows
    private const double Tolerance = 0.05;   // a ratio that moved less than this since the choices last took it keeps them
    private const int ProbeInterval = GammaController.ProbeInterval, MaxProbeInterval = GammaController.MaxProbeInterval;

    private sealed class Ratio
    {
        public int Rounds;
        public double Value = 1;     // the running ratio
        public double Applied = 1;   // the ratio the choices were made with
        public bool Probed;          // a probe of drafting runs: its counted round replaces the value
        public double Time = 1;      // measured over predicted seconds a round, running: what the rounds cost, whatever they accepted
    }

    private sealed class Probes
    {
        public int PlainRounds;                  // plain rounds measured since drafting was last chosen or probed
        public int Interval = ProbeInterval;     // doubles with each probe that leaves plain decoding best
    }

    private readonly Dictionary<(int Rows, bool Drafting), Ratio> _ratios = [];
    private readonly Dictionary<int, Probes> _probes = [];

    /// <summary>The factor on the predicted rate of a plain or a drafting round at <paramref name="batch"/> rows: what rounds
    /// of that kind measured there; for drafting rounds not yet measured, what plain rounds did (a machine faster or slower
    /// than the calibration's is so for both, and drafting is then tried as the calibration ranks it); 1 before either.</summary>
    public double Factor(int batch, bool drafting) =>
        Measured(batch, drafting) || !drafting ? Applied(batch, drafting) : Applied(batch, drafting: false);

    private double Applied(int batch, bool drafting) => _ratios.TryGetValue((Rows(batch), drafting), out var ratio) && ratio.Rounds >= 2 ? ratio.Applied : 1;

    /// <summary>Whether a round of that kind has counted at <paramref name="batch"/>'s rows.</summary>
    public bool Measured(int batch, bool drafting) => _ratios.TryGetValue((Rows(batch), drafting), out var ratio) && ratio.Rounds >= 2;

    /// <summary>Whether two batches share their measurements.</summary>
    public static bool SameRows(int batch, int other) => Rows(batch) == Rows(other);

    private static int Rows(int batch) => System.Numerics.BitOperations.Log2((uint)Math.Max(batch, 1));

    /// <summary>
    /// Records a round's measured rate against its predicted one, and its measured seconds against its predicted seconds
    /// (<paramref name="timeRatio"/>); true where the factor moved (by more than 5 %), so the choices made at that batch
    /// should be made again. The first round of each kind at a batch does not count: a pass of a shape the model has not
    /// run yet may include a CUDA graph capture, many steps long (as <see cref="GammaController"/>).
    /// </summary>
    public bool Observe(int batch, bool drafting, double measuredRate, double predictedRate, double timeRatio)
    {
        if (!(measuredRate > 0) || !(predictedRate > 0) || double.IsInfinity(measuredRate) || !(timeRatio > 0)) return false;
        var rows = Rows(batch);
        if (!drafting && _probes.TryGetValue(rows, out var probes)) probes.PlainRounds++;
        var key = (rows, drafting);
        if (!_ratios.TryGetValue(key, out var ratio)) _ratios[key] = ratio = new Ratio();
        ratio.Rounds++;
        if (ratio.Rounds == 1) return false;
        var measured = measuredRate / predictedRate;
        var fresh = ratio.Rounds == 2 || ratio.Probed;
        ratio.Value = fresh ? measured : (1 - Smoothing) * ratio.Value + Smoothing * measured;
        ratio.Time = fresh ? timeRatio : (1 - Smoothing) * ratio.Time + Smoothing * timeRatio;
        ratio.Probed = false;
        if (Math.Abs(ratio.Value / ratio.Applied - 1) <= Tolerance) return false;
        ratio.Applied = ratio.Value;
        return true;
    }

    /// <summary>
    /// Called where plain decoding was chosen for a round at <paramref name="batch"/> rows: whether to probe drafting in
    /// its place. Only where drafting rounds were measured there (their ratio is what made plain decoding best; a calibration
    /// that ranks plain decoding first unmeasured is taken at its word), after 16 plain rounds, then 32, ... 256 while the
    /// probes leave plain decoding best: a probe is two drafting rounds (the first catches the drafter up) that may cost
    /// several plain steps each, and the text may stay hard. Where no tree would pay were every draft accepted, at the
    /// rounds' measured cost (<paramref name="couldPay"/> at the batch and context: as the chain planner's, a probe can then change nothing), only
    /// every 256 plain rounds, in case a slow measurement ended drafting; that is asked every 16 plain rounds, since it
    /// prices every tree as the search does. The probe's counted round replaces the ratio.
    /// </summary>
    public bool ProbeDrafting(int batch, int context, Func<int, int, bool> couldPay)
    {
        if (!Measured(batch, drafting: true)) return false;
        var rows = Rows(batch);
        if (!_probes.TryGetValue(rows, out var probes)) _probes[rows] = probes = new Probes();
        if (probes.PlainRounds < probes.Interval) return false;
        if (probes.PlainRounds < MaxProbeInterval && (probes.PlainRounds % ProbeInterval != 0 || !couldPay(batch, context))) return false;
        (probes.PlainRounds, probes.Interval) = (0, Math.Min(2 * probes.Interval, MaxProbeInterval));
        _ratios[(rows, true)].Probed = true;
        return true;
    }

    /// <summary>Measured over predicted seconds of a drafting round at <paramref name="batch"/> rows, running (1 before one
    /// counted): what drafting costs there against the calibration, whatever the text accepted.</summary>
    public double DraftingTime(int batch) => _ratios.TryGetValue((Rows(batch), true), out var ratio) && ratio.Rounds >= 2 ? ratio.Time : 1;

    /// <summary>Called where drafting was chosen at <paramref name="batch"/> rows (not as a probe): a later stretch of plain
    /// rounds probes at the first interval again.</summary>
    public void DraftingChosen(int batch)
    {
        if (_probes.TryGetValue(Rows(batch), out var probes)) (probes.PlainRounds, probes.Interval) = (0, ProbeInterval);
    }
}
