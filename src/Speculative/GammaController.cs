namespace Condensa.Speculative;

/// <summary>
/// Chooses the draft length γ from measurements: the acceptance rate α of drafted tokens, a round's draft time as a line
/// in γ (a fixed cost a round and a cost a draft step, fitted to the γ measured) and the verify time as a line in the
/// tokens the verification pass runs (γ + 1, or what the target pads that to, since a model that replays CUDA graphs
/// pads a pass to 2, 4, 8, 16 or 32 tokens, so γ = 2 and 3 cost alike, as do γ = 4 to 7). It maximises expected tokens
/// per second, (1 + the drafts a chain of γ gets accepted) / (t_draft(γ) + t_verify(γ)), the accepted drafts those measured
/// at γ, shrunk toward the chain model's Ω(γ, α) - 1, and re-decides every round, so as the context grows and
/// verification slows the choice follows. γ = 0 is plain decoding (a round of the root alone, one target pass), chosen
/// where its measured pass beats every γ: on cuda at batch 32 a verification of several tokens costs several plain
/// steps (docs/benchmarks.md, round 8), and speculation should then cost nothing rather than lose. A fixed γ bypasses all
/// of this.
/// </summary>
public sealed class GammaController
{
    // Recent behaviour matters more than old: the context (and so verify time) grows as generation runs.
    internal const double Smoothing = 0.2;
    private readonly int? _fixed;
    private readonly int _max;
    private int _first;
    private readonly bool _catchesUp;
    private readonly int[] _passTokens;                  // per γ: the tokens its verification pass runs (γ + 1, padded)
    private readonly ChainAcceptance _acceptance;       // what chains of each γ get accepted
    private readonly double[] _draftSeconds;            // a round's draft time, EMA per γ (index γ), NaN = unmeasured
    private readonly int[] _draftRounds;                // rounds measured per γ
    private readonly double[] _verifySeconds;           // EMA per γ (index γ), NaN = unmeasured
    private readonly int[] _verifyRounds;               // rounds measured per γ
    private int _rounds;
    private int _previousVerified;                       // the γ the last round verified (0: a plain round)
    private int _repeatProbe = -1;                       // γ of a probe's second round, due next; -1: none
    internal const int ProbeInterval = 16, MaxProbeInterval = 256;   // plain rounds between probes of drafting (the tree planner's too)
    private const double SurpriseMargin = 0.25;         // accepted share above the estimate's that makes a probe news
    private int _probeInterval = ProbeInterval, _nextProbe = -1, _probes;   // -1: no choice made yet
    private int _lastProbe;                              // the round of the last probe
    private int _intervalBeforeProbe = ProbeInterval;    // the probe interval before the last probe thinned it
    private double _draftFastest = double.PositiveInfinity;   // the fastest draft step measured
    private readonly double[] _verifyFastest;           // the fastest verification measured per γ: what drafting could cost at best
    private bool _probing;                               // the last γ returned was a probe of drafting while plain decoding is best
    private readonly bool[] _draftSpike, _verifySpike;  // per γ: the last time was a spike, held back until the next confirms it
    // A time over this many times its running estimate counts only when the next one at that γ is over it too.
    private const double SpikeFactor = 3;

    /// <summary>
    /// Creates a controller: <paramref name="fixedGamma"/> pins γ; otherwise it adapts within 0..max, starting from
    /// <paramref name="firstGamma"/>: 1 where each draft costs a pass (a draft model, self-speculation), longer where drafts
    /// cost nothing and only a verification prices them (prompt lookup: <see cref="FreeDraftsFirstGamma"/>).
    /// <paramref name="passLength"/>: the tokens the target runs a pass of n tokens as (<see cref="Runtime.IDecoder.PassLength"/>;
    /// default n). <paramref name="catchesUp"/>: the drafter keeps state that falls behind in plain rounds and catches up
    /// in its next drafting round (a draft model's cache, a budget's), so that round's draft time does not price drafting
    /// and a probe while plain decoding is best is two rounds, the second timing a draft step as steady drafting pays it.
    /// </summary>
    public GammaController(int? fixedGamma, int maxGamma = Speculation.DefaultMaxGamma, int firstGamma = 1, Func<int, int>? passLength = null,
        bool catchesUp = true)
    {
        if (fixedGamma is < 1) throw new ArgumentOutOfRangeException(nameof(fixedGamma), fixedGamma, "gamma must be >= 1");
        ArgumentOutOfRangeException.ThrowIfLessThan(maxGamma, 1);
        _fixed = fixedGamma;
        _max = Math.Max(maxGamma, fixedGamma ?? 1);
        _first = Math.Clamp(firstGamma, 1, _max);
        _catchesUp = catchesUp;
        _passTokens = [.. Enumerable.Range(1, _max + 1).Select(n => passLength?.Invoke(n) ?? n)];
        _draftSeconds = new double[_max + 1];
        _draftRounds = new int[_max + 1];
        _verifySeconds = new double[_max + 1];
        _verifyRounds = new int[_max + 1];
        Array.Fill(_draftSeconds, double.NaN);
        Array.Fill(_verifySeconds, double.NaN);
        _verifyFastest = new double[_max + 1];
        Array.Fill(_verifyFastest, double.PositiveInfinity);
        (_draftSpike, _verifySpike) = (new bool[_max + 1], new bool[_max + 1]);
        _acceptance = new ChainAcceptance(_max);
    }

    /// <summary>The first γ a controller for free drafts (prompt lookup) explores: long enough that a burst of matching
    /// text shows what it is worth (round 10: starting prompt lookup at γ = 1 lost a fifth to a quarter in three cells).</summary>
    public const int FreeDraftsFirstGamma = 4;

    /// <summary>The largest γ this controller may return.</summary>
    public int MaxGamma => _max;

    /// <summary>The γ explored first, after the plain passes: the constructor's, or <see cref="StartAt"/>'s.</summary>
    public int FirstGamma => _first;

    /// <summary>
    /// Explores <paramref name="gamma"/> first instead (clamped to 1..max), where a calibration of this pair predicts it pays
    /// (<see cref="ChainPlanner"/>): a drafter whose only long chains pay otherwise spends its first drafting rounds on γ = 1
    /// and the probes that climb from it, a few rounds of a hundred-round run (round 31: five rounds, ~11 ms of 227 at 8 x
    /// 1,024 on an H200). Only before the first round; a fixed γ ignores it.
    /// </summary>
    public void StartAt(int gamma)
    {
        if (_rounds > 0) throw new InvalidOperationException("the first γ is set before the first round");
        _first = Math.Clamp(gamma, 1, _max);
    }

    /// <summary>Current estimate of the per-token acceptance rate α: the one under which chains of the γ measured accept
    /// the share of their drafts measured (<see cref="AcceptanceMath.AlphaForAcceptedShare"/>).</summary>
    public double Alpha => _acceptance.Alpha;

    /// <summary>
    /// Records one round of <paramref name="gamma"/>: drafts proposed and accepted (all rows), draft and verify wall time.
    /// The verify time counts for the γ the pass verified, <paramref name="verifiedGamma"/> (default <paramref name="gamma"/>):
    /// a drafter may propose fewer (prompt lookup without a match proposes none, and its round is a plain pass), and the
    /// draft time for the draft steps of that longest proposal.
    /// </summary>
    public void Observe(int gamma, int proposed, int accepted, TimeSpan draft, TimeSpan verify, int? verifiedGamma = null)
    {
        _rounds++;
        var verified = Math.Clamp(verifiedGamma ?? gamma, 0, _max);
        if (_probing && proposed > 0
            && (double)accepted / proposed > _acceptance.ExpectedAccepted(Math.Max(verified, 1)) / Math.Max(verified, 1) + SurpriseMargin)
        {
            // the probe accepted far more than the estimate expected: the text got easier than the rounds that set it (the
            // first tokens of a generation often reject every draft), so probe again soon rather than at the thinned interval
            (_nextProbe, _probeInterval) = (Math.Min(_nextProbe, _rounds + ProbeInterval), ProbeInterval);
        }
        if (_probing && proposed == 0)
        {
            // the probe drafted nothing (prompt lookup found no match: the round was a plain pass) and so measured nothing:
            // probe again next round, at the interval it had, rather than waiting twice as long on no evidence
            (_nextProbe, _probeInterval, _repeatProbe) = (_rounds, _intervalBeforeProbe, -1);
        }
        _probing = false;
        _acceptance.Observe(Math.Max(verified, 1), proposed, accepted);
        // a drafter that caught up on the rounds it sat out spent part of this round's draft time on them
        var caughtUp = _catchesUp && _previousVerified == 0;
        if (verified > 0 && draft > TimeSpan.Zero && !caughtUp)
        {
            if (!Spike(_draftSpike, verified, _draftSeconds[verified], _draftRounds[verified], draft.TotalSeconds))
                _draftSeconds[verified] = Measure(_draftSeconds[verified], ++_draftRounds[verified], draft.TotalSeconds);
            _draftFastest = Math.Min(_draftFastest, draft.TotalSeconds / verified);   // per draft step of the longest proposal
        }
        if (!Spike(_verifySpike, verified, _verifySeconds[verified], _verifyRounds[verified], verify.TotalSeconds))
            _verifySeconds[verified] = Measure(_verifySeconds[verified], ++_verifyRounds[verified], verify.TotalSeconds);
        _verifyFastest[verified] = Math.Min(_verifyFastest[verified], verify.TotalSeconds);
        _previousVerified = verified;
    }

    /// <summary>γ for the next round.</summary>
    public int Next()
    {
        if (_fixed is { } g) return g;
        if (_repeatProbe >= 0)
        {
            // a probe's second round: the first paid the drafter's catch-up, this one times drafting as it would run
            (g, _repeatProbe, _probing) = (_repeatProbe, -1, true);
            return g;
        }
        // First a plain pass, then the first γ, twice each: a time counts from its second measurement (Measure), since the
        // first pass of a length may include a CUDA graph capture, many steps long (a γ whose only measurement is inflated so
        // looks slow for good once another is chosen). For drafts that cost passes γ = 1 is the cheapest round that prices
        // drafting (round 10: exploring γ = 4 and 5 first cost a 128-token run at batch 32 a fifth of its time where plain
        // decoding was best). The verify-time fit is flat through one γ until probes measure its neighbours.
        if (_verifyRounds[0] < 2) return 0;
        var verify = FitLine(_verifySeconds, _verifyRounds, minRounds: 2, gamma => _passTokens[gamma], monotone: true);
        if (verify is null) return _first;
        // a draft round is counted from its first measurement: the catch-up round before it ran (and captured) its passes
        var (best, bestDrafting) = Best(verify.Value, FitLine(_draftSeconds, _draftRounds, minRounds: 1, gamma => gamma, throughOrigin: true) ?? (0, 0));
        if (_nextProbe < 0) _nextProbe = _rounds + ProbeInterval;
        if (_rounds < _nextProbe) return best;
        // Plain decoding best, and no γ would beat it were every draft accepted: a probe measures acceptance, which cannot
        // change the choice, and costs several plain steps (self-speculation on cuda, where a draft step over the budget
        // costs more than a plain step: round 12). Checked each round from here, so the probe runs once the measured times
        // allow a gain (a plain pass slows as the context grows), and at the longest interval regardless: one slow
        // measurement (a CPU thread stalled, a session loading) must not end drafting for good.
        var couldPay = best != 0 || CouldPay();
        if (best == 0 && _rounds < _lastProbe + MaxProbeInterval && !couldPay) return 0;
        _lastProbe = _rounds;
        // Probe a neighbour of the best, and while drafting a plain pass every third probe, first, so the verify-time fit and
        // the plain pass stay current as the context grows. While plain decoding stays best, drafting is probed (where drafts
        // cost passes at the γ drafting would run at, below; free drafts at the first γ, whose round prices several at little
        // more) and the probes thin out, 16, 32 .. 256 rounds apart: each costs a verification of several plain
        // steps (round 10's grid) and, where the drafter catches up, a second round. (Free drafts probe one γ: probing γ = 3
        // in turn made rows that accept all or nothing, prompt lookup's, look like a higher per-token rate, the chain model's
        // α read from a share measured at several γ; their draft time is near nothing, so needs no slope.)
        _intervalBeforeProbe = _probeInterval;
        _probeInterval = best != 0 ? ProbeInterval : Math.Min(2 * _probeInterval, MaxProbeInterval);
        _nextProbe = _rounds + _probeInterval;
        _probing = best == 0;
        if (best != 0) return (_probes++ % 3) switch { 0 => 0, 1 => Math.Min(best + 1, _max), _ => best - 1 };
        if (!_catchesUp) return _first;
        // Drafts that cost passes are probed at the best γ of at least 1 (the rate it is expected to give is what decides),
        // and at least two past the first γ explored, so the draft-time line gets its slope: round 16's draft model at 1 x
        // 1,024 on cuda drafted one token in 0.22-0.26 ms and three in 0.57 (a fixed cost a round), and priced through the
        // origin from γ = 1 alone γ = 3 looked slower than plain decoding, which it beat by 7 %. Probing γ = 1 and 3 in turn
        // measured one or three drafts a probe: round 30's one-row cells (γ = 12 at 1.22x and 1.42x, a verification of 2 to
        // 16 tokens a row ~3.4x a plain step whatever its length) ran plain passes for 88 rounds before the estimate allowed
        // γ = 12, and for 400 after a hard stretch ended it (docs/benchmarks.md, round 31).
        var probe = Math.Max(bestDrafting, Math.Min(_first + 2, _max));
        _repeatProbe = probe;
        return probe;
    }

    // The γ of the best expected rate (0: plain decoding, one token a pass), and the best γ of at least 1.
    private (int Best, int BestDrafting) Best((double A, double B) verify, (double A, double B) draft)
    {
        var (drafting, draftingRate) = (1, 0.0);
        for (var g = 1; g <= _max; g++)
        {
            var cost = draft.A + draft.B * g + Math.Max(verify.A + verify.B * _passTokens[g], 1e-9);
            var rate = (1 + _acceptance.ExpectedAccepted(g)) / cost;
            if (rate > draftingRate) (drafting, draftingRate) = (g, rate);
        }
        return (draftingRate > 1 / Math.Max(_verifySeconds[0], 1e-9) ? drafting : 0, drafting);
    }

    // Whether some γ, with every draft accepted (γ + 1 tokens a round), would beat the plain pass at the fastest times
    // measured: a draft step's, and a verification of γ's at least that of any shorter chain measured and of a plain pass
    // (verifying more tokens never costs less). The fastest times, not the running estimates: stalls only add time, and
    // one stalled pass must not make drafting look hopeless.
    private bool CouldPay()
    {
        var draft = double.IsPositiveInfinity(_draftFastest) ? 0 : _draftFastest;
        var plainRate = 1 / Math.Max(_verifySeconds[0], 1e-9);
        var verify = double.IsPositiveInfinity(_verifyFastest[0]) ? 0 : _verifyFastest[0];
        for (var g = 1; g <= _max; g++)
        {
            if (!double.IsPositiveInfinity(_verifyFastest[g])) verify = Math.Max(verify, _verifyFastest[g]);
            if ((g + 1) / (g * draft + Math.Max(verify, 1e-9)) > plainRate) return true;
        }
        return false;
    }

    /// <summary>
    /// Least-squares line t = a + b·x through the times measured for γ = 1..max (at least <paramref name="minRounds"/>
    /// times: a pass's first run may include a capture), x = <paramref name="at"/>(γ); null where none is. b is never
    /// negative (more tokens never cost less), nor is a (a fitted negative fixed cost would price short passes at nothing:
    /// the line through the origin instead); through one point the line is flat, or, <paramref name="throughOrigin"/>,
    /// through the origin (a round of drafts priced per draft step until two lengths are measured). <paramref name="monotone"/>:
    /// a γ's time counts at most the least measured for a longer γ, since verifying more tokens never costs less, so a
    /// stalled measurement of a γ no round has run since gives way to a longer γ's newer one.
    /// </summary>
    private (double A, double B)? FitLine(double[] seconds, int[] rounds, int minRounds, Func<int, int> at, bool throughOrigin = false,
        bool monotone = false)
    {
        var (n, sx, sy, sxx, sxy) = (0, 0.0, 0.0, 0.0, 0.0);
        var longer = double.PositiveInfinity;   // the least time measured for a longer γ
        for (var gamma = _max; gamma >= 1; gamma--)
        {
            if (rounds[gamma] < minRounds) continue;
            var (x, y) = ((double)at(gamma), monotone ? Math.Min(seconds[gamma], longer) : seconds[gamma]);
            longer = y;
            (n, sx, sy, sxx, sxy) = (n + 1, sx + x, sy + y, sxx + x * x, sxy + x * y);
        }
        if (n == 0) return null;
        if (n == 1) return throughOrigin ? (0, sy / sx) : (sy, 0);
        var denominator = n * sxx - sx * sx;
        var b = denominator > 0 ? Math.Max((n * sxy - sx * sy) / denominator, 0) : 0;
        var a = (sy - b * sx) / n;
        return a >= 0 ? (a, b) : (0, sxy / sxx);
    }

    // Whether a time of γ is a lone spike, held back: over SpikeFactor times an estimate of two or more measurements, and
    // the time before it at γ was not one too. A pass of a shape the model had not run on its cache includes a CUDA graph
    // capture: round 17 a's prompt lookup at 32 x 1,024, as finished rows took its passes to 4, 2 and 1 rows, verified in
    // 4.4-4.9 ms against 0.4-0.6, and priced at that γ = 12 gave way to γ = 3 for 50 rounds. A cost that really changed
    // shows in the next round too, which then counts (the spike before it is dropped).
    private static bool Spike(bool[] held, int gamma, double estimate, int rounds, double value)
    {
        var spike = rounds >= 2 && value > SpikeFactor * estimate && !held[gamma];
        held[gamma] = spike;
        return spike;
    }

    // The n-th measurement of a time. The first stands in until a second replaces it: a pass of a length the model has not
    // run yet may include a CUDA graph capture, many steps long, and an average seeded with it would keep that length (a
    // plain pass among them) looking slow for rounds after.
    private static double Measure(double old, int n, double value) => n <= 2 ? value : (1 - Smoothing) * old + Smoothing * value;
}
