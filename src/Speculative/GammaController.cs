namespace Condensa.Speculative;

/// <summary>
/// Chooses the draft length γ from measurements: the acceptance rate α of drafted tokens, the time of one draft
/// step and the verify time as a function of the tokens the verification pass runs (a line fitted to recent passes:
/// γ + 1, or what the target pads that to, since a model that replays CUDA graphs pads a pass to 2, 4, 8, 16 or 32
/// tokens, so γ = 2 and 3 cost alike, as do γ = 4 to 7). It maximises expected tokens per
/// second, Ω(γ, α) / (γ·t_draft + t_verify(γ)), and re-decides every round, so as the context grows and
/// verification slows the choice follows. γ = 0 is plain decoding (a round of the root alone, one target pass), chosen
/// where its measured pass beats every γ: on cuda at batch 32 a verification of several tokens costs several plain
/// steps (docs/benchmarks.md, round 8), and speculation should then cost nothing rather than lose. A fixed γ bypasses all
/// of this.
/// </summary>
public sealed class GammaController
{
    // Recent behaviour matters more than old: the context (and so verify time) grows as generation runs.
    private const double Smoothing = 0.2;
    private readonly int? _fixed;
    private readonly int _max, _first;
    private readonly int[] _passTokens;                  // per γ: the tokens its verification pass runs (γ + 1, padded)
    private double _accepted = 2, _proposed = 4;       // the accepted share of drafts: a prior (α ≈ 0.75) until rounds are measured
    private double _proposedGamma = 4;                  // the γ of the rounds that share was measured at
    private double _draftSeconds = double.NaN;          // per draft step
    private readonly double[] _verifySeconds;           // EMA per γ (index γ), NaN = unmeasured
    private readonly int[] _verifyRounds;               // rounds measured per γ
    private int _draftRounds;
    private int _rounds;
    private const int ProbeInterval = 16, MaxProbeInterval = 256;
    private const double SurpriseMargin = 0.25;         // accepted share above the estimate's that makes a probe news
    private int _probeInterval = ProbeInterval, _nextProbe = -1, _probes;   // -1: no choice made yet
    private int _lastProbe;                              // the round of the last probe
    private int _intervalBeforeProbe = ProbeInterval;    // the probe interval before the last probe thinned it
    private double _draftFastest = double.PositiveInfinity;   // the fastest draft step measured
    private readonly double[] _verifyFastest;           // the fastest verification measured per γ: what drafting could cost at best
    private bool _probing;                               // the last γ returned was a probe of drafting while plain decoding is best
    private bool _probeSurprised;                        // and that probe accepted far more than the estimate expected

    /// <summary>
    /// Creates a controller: <paramref name="fixedGamma"/> pins γ; otherwise it adapts within 0..max, starting from
    /// <paramref name="firstGamma"/>: 1 where each draft costs a pass (a draft model, self-speculation), longer where drafts
    /// cost nothing and only a verification prices them (prompt lookup: <see cref="FreeDraftsFirstGamma"/>).
    /// <paramref name="passLength"/>: the tokens the target runs a pass of n tokens as (<see cref="Runtime.IDecoder.PassLength"/>;
    /// default n).
    /// </summary>
    public GammaController(int? fixedGamma, int maxGamma = Speculation.DefaultMaxGamma, int firstGamma = 1, Func<int, int>? passLength = null)
    {
        if (fixedGamma is < 1) throw new ArgumentOutOfRangeException(nameof(fixedGamma), fixedGamma, "gamma must be >= 1");
        ArgumentOutOfRangeException.ThrowIfLessThan(maxGamma, 1);
        _fixed = fixedGamma;
        _max = Math.Max(maxGamma, fixedGamma ?? 1);
        _first = Math.Clamp(firstGamma, 1, _max);
        _passTokens = [.. Enumerable.Range(1, _max + 1).Select(n => passLength?.Invoke(n) ?? n)];
        _verifySeconds = new double[_max + 1];
        _verifyRounds = new int[_max + 1];
        Array.Fill(_verifySeconds, double.NaN);
        _verifyFastest = new double[_max + 1];
        Array.Fill(_verifyFastest, double.PositiveInfinity);
    }

    /// <summary>The first γ a controller for free drafts (prompt lookup) explores: long enough that a burst of matching
    /// text shows what it is worth (round 10: starting prompt lookup at γ = 1 lost a fifth to a quarter in three cells).</summary>
    public const int FreeDraftsFirstGamma = 4;

    /// <summary>The largest γ this controller may return.</summary>
    public int MaxGamma => _max;

    /// <summary>Current estimate of the per-token acceptance rate α: the one under which chains of the γ measured accept
    /// the share of their drafts measured (<see cref="AcceptanceMath.AlphaForAcceptedShare"/>).</summary>
    public double Alpha => AcceptanceMath.AlphaForAcceptedShare(_proposedGamma, _accepted / _proposed);

    /// <summary>
    /// Records one round of <paramref name="gamma"/>: drafts proposed and accepted (all rows), draft and verify wall time.
    /// The verify time counts for the γ the pass verified, <paramref name="verifiedGamma"/> (default <paramref name="gamma"/>):
    /// a drafter may propose fewer (prompt lookup without a match proposes none, and its round is a plain pass), and the
    /// draft time per draft step of that longest proposal.
    /// </summary>
    public void Observe(int gamma, int proposed, int accepted, TimeSpan draft, TimeSpan verify, int? verifiedGamma = null)
    {
        _rounds++;
        var verified = Math.Clamp(verifiedGamma ?? gamma, 0, _max);
        if (_probing && proposed > 0)
            _probeSurprised = (double)accepted / proposed > AcceptanceMath.AcceptedShare(Math.Max(verified, 1), Alpha) + SurpriseMargin;
        if (_probing && proposed == 0)
        {
            // the probe drafted nothing (prompt lookup found no match: the round was a plain pass) and so measured nothing:
            // probe again next round, at the interval it had, rather than waiting twice as long on no evidence
            (_nextProbe, _probeInterval) = (_rounds, _intervalBeforeProbe);
        }
        _probing = false;
        if (proposed > 0)
        {
            _accepted = (1 - Smoothing) * _accepted + Smoothing * accepted;
            _proposed = (1 - Smoothing) * _proposed + Smoothing * proposed;
            _proposedGamma = (1 - Smoothing) * _proposedGamma + Smoothing * Math.Max(verified, 1);
        }
        if (verified > 0 && draft > TimeSpan.Zero)
        {
            // per draft step the longest proposal took (a chain cut short near a row's token limit runs fewer)
            _draftSeconds = Measure(_draftSeconds, ++_draftRounds, draft.TotalSeconds / verified);
            _draftFastest = Math.Min(_draftFastest, draft.TotalSeconds / verified);
        }
        _verifySeconds[verified] = Measure(_verifySeconds[verified], ++_verifyRounds[verified], verify.TotalSeconds);
        _verifyFastest[verified] = Math.Min(_verifyFastest[verified], verify.TotalSeconds);
    }

    /// <summary>γ for the next round.</summary>
    public int Next()
    {
        if (_fixed is { } g) return g;
        // First a plain pass, then the first γ, twice each: a time counts from its second measurement (Measure), since the
        // first pass of a length may include a CUDA graph capture, many steps long (a γ whose only measurement is inflated so
        // looks slow for good once another is chosen). For drafts that cost passes γ = 1 is the cheapest round that prices
        // drafting (round 10: exploring γ = 4 and 5 first cost a 128-token run at batch 32 a fifth of its time where plain
        // decoding was best). The verify-time fit is flat through one γ until probes measure its neighbours.
        if (_verifyRounds[0] < 2) return 0;
        var (n, sx, sy, sxx, sxy) = (0, 0.0, 0.0, 0.0, 0.0);   // the verify-time fit's sums over the γ measured, by pass tokens
        for (var gamma = 1; gamma <= _max; gamma++)
        {
            if (_verifyRounds[gamma] < 2) continue;
            var (x, y) = ((double)_passTokens[gamma], _verifySeconds[gamma]);
            (n, sx, sy, sxx, sxy) = (n + 1, sx + x, sy + y, sxx + x * x, sxy + x * y);
        }
        if (n == 0) return _first;
        var best = Best(FitVerifyTime(n, sx, sy, sxx, sxy));
        if (_nextProbe < 0) _nextProbe = _rounds + ProbeInterval;
        if (_rounds < _nextProbe) return best;
        // Plain decoding best, and no γ would beat it were every draft accepted: a probe measures acceptance, which cannot
        // change the choice, and costs several plain steps (self-speculation on cuda, where a draft step over the budget
        // costs more than a plain step: round 12). Checked each round from here, so the probe runs once the measured times
        // allow a gain (a plain pass slows as the context grows), and at the longest interval regardless: one slow
        // measurement (a CPU thread stalled, a session loading) must not end drafting for good.
        if (best == 0 && _rounds < _lastProbe + MaxProbeInterval && !CouldPay()) return 0;
        _lastProbe = _rounds;
        // Probe a neighbour of the best, and while drafting a plain pass every third probe, first, so the verify-time fit and
        // the plain pass stay current as the context grows. While plain decoding stays best, drafting is probed at the first
        // γ explored (1 where drafts cost passes, longer for free drafts, whose round prices several at little more) and the
        // probes thin out, 16, 32 .. 256 rounds apart: each costs a draft catch-up and a verification of several plain steps
        // (round 10's grid). Unless the last probe accepted far more than the estimate expected: the text got easier than
        // the rounds that set the estimate (the first tokens of a generation often reject every draft), so probe again soon.
        _intervalBeforeProbe = _probeInterval;
        _probeInterval = best != 0 || _probeSurprised ? ProbeInterval : Math.Min(2 * _probeInterval, MaxProbeInterval);
        _nextProbe = _rounds + _probeInterval;
        _probing = best == 0;
        return best == 0 ? _first : (_probes++ % 3) switch { 0 => 0, 1 => Math.Min(best + 1, _max), _ => best - 1 };
    }

    private int Best((double A, double B) verify)
    {
        var (a, b) = verify;
        var (draft, alpha) = (double.IsNaN(_draftSeconds) ? 0 : _draftSeconds, Alpha);
        var (best, bestRate) = (0, 1 / Math.Max(_verifySeconds[0], 1e-9));   // plain decoding: one token a pass
        for (var g = 1; g <= _max; g++)
        {
            var rate = AcceptanceMath.ExpectedTokensPerRound(g, alpha) / (g * draft + Math.Max(a + b * _passTokens[g], 1e-9));
            if (rate > bestRate) (best, bestRate) = (g, rate);
        }
        return best;
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

    /// <summary>Least-squares line t_verify = a + b·x through n measured (x, t) points, x a pass's tokens, from their sums.</summary>
    private static (double A, double B) FitVerifyTime(int n, double sx, double sy, double sxx, double sxy)
    {
        var denominator = n * sxx - sx * sx;
        var b = denominator > 0 ? Math.Max((n * sxy - sx * sy) / denominator, 0) : 0;   // verify never gets cheaper with γ
        return ((sy - b * sx) / n, b);
    }

    // The n-th measurement of a time. The first stands in until a second replaces it: a pass of a length the model has not
    // run yet may include a CUDA graph capture, many steps long, and an average seeded with it would keep that length (a
    // plain pass among them) looking slow for rounds after.
    private static double Measure(double old, int n, double value) => n <= 2 ? value : (1 - Smoothing) * old + Smoothing * value;
}
