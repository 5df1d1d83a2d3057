namespace Condensa.Speculative;

/// <summary>
/// Chooses the draft length γ from measurements: the acceptance rate α of drafted tokens, the time of one draft
/// step and the verify time as a function of γ (a line fitted to recent passes). It maximises expected tokens per
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
    private readonly int _max;
    private double _accepted = 3, _proposed = 4;       // prior α = 0.75 until rounds are measured
    private double _draftSeconds = double.NaN;          // per drafted token
    private readonly double[] _verifySeconds;           // EMA per γ (index γ), NaN = unmeasured
    private readonly int[] _verifyRounds;               // rounds measured per γ
    private int _draftRounds;
    private int _rounds;

    /// <summary>Creates a controller: <paramref name="fixedGamma"/> pins γ; otherwise it adapts within 0..max.</summary>
    public GammaController(int? fixedGamma, int maxGamma = Speculation.DefaultMaxGamma)
    {
        if (fixedGamma is < 1) throw new ArgumentOutOfRangeException(nameof(fixedGamma), fixedGamma, "gamma must be >= 1");
        ArgumentOutOfRangeException.ThrowIfLessThan(maxGamma, 1);
        _fixed = fixedGamma;
        _max = Math.Max(maxGamma, fixedGamma ?? 1);
        _verifySeconds = new double[_max + 1];
        _verifyRounds = new int[_max + 1];
        Array.Fill(_verifySeconds, double.NaN);
    }

    /// <summary>The largest γ this controller may return.</summary>
    public int MaxGamma => _max;

    /// <summary>Current acceptance-rate estimate.</summary>
    public double Alpha => _accepted / _proposed;

    /// <summary>Records one round: drafts proposed and accepted (all rows), draft and verify wall time.</summary>
    public void Observe(int gamma, int proposed, int accepted, TimeSpan draft, TimeSpan verify)
    {
        _rounds++;
        if (proposed > 0)
        {
            _accepted = (1 - Smoothing) * _accepted + Smoothing * accepted;
            _proposed = (1 - Smoothing) * _proposed + Smoothing * proposed;
        }
        if (gamma > 0 && draft > TimeSpan.Zero) _draftSeconds = Measure(_draftSeconds, ++_draftRounds, draft.TotalSeconds / gamma);
        _verifySeconds[gamma] = Measure(_verifySeconds[gamma], ++_verifyRounds[gamma], verify.TotalSeconds);
    }

    /// <summary>γ for the next round.</summary>
    public int Next()
    {
        if (_fixed is { } g) return g;
        var measured = Enumerable.Range(1, _max).Where(i => !double.IsNaN(_verifySeconds[i])).ToArray();
        if (measured.Length < 2)
            return measured.Length == 0 ? Math.Min(4, _max) : (measured[0] < _max ? measured[0] + 1 : measured[0] - 1);  // get a second point
        // and a plain pass, what speculation must beat, measured twice: the first may include a CUDA graph capture, and
        // a plain pass inflated so makes every γ look better for as long as drafting keeps being chosen (the likely cause
        // of round 9's 32 x 1,024 cell drafting at 0.18x of plain decoding: its measured costs favour plain decoding 4 to 1)
        if (_verifyRounds[0] < 2) return 0;
        // Every 16th round probe: a neighbour of the best (γ = 0's is 1), and while drafting every third probe a plain
        // pass, so the verify-time fit and the plain pass stay current as the context grows.
        var best = Best(measured);
        if (_rounds % 16 == 15)
            return best == 0 ? 1 : (_rounds / 16 % 3) switch { 0 => Math.Min(best + 1, _max), 1 => best - 1, _ => 0 };
        return best;
    }

    private int Best(int[] measured)
    {
        var (a, b) = FitVerifyTime(measured);
        var draft = double.IsNaN(_draftSeconds) ? 0 : _draftSeconds;
        var (best, bestRate) = (0, 1 / Math.Max(_verifySeconds[0], 1e-9));   // plain decoding: one token a pass
        for (var g = 1; g <= _max; g++)
        {
            var rate = AcceptanceMath.ExpectedTokensPerRound(g, Alpha) / (g * draft + Math.Max(a + b * g, 1e-9));
            if (rate > bestRate) (best, bestRate) = (g, rate);
        }
        return best;
    }

    /// <summary>Least-squares line t_verify(γ) = a + b·γ through the measured γ values.</summary>
    private (double A, double B) FitVerifyTime(int[] measured)
    {
        double n = measured.Length, sx = 0, sy = 0, sxx = 0, sxy = 0;
        foreach (var g in measured)
        {
            var y = _verifySeconds[g];
            sx += g; sy += y; sxx += g * g; sxy += g * y;
        }
        var denominator = n * sxx - sx * sx;
        var b = denominator > 0 ? Math.Max((n * sxy - sx * sy) / denominator, 0) : 0;   // verify never gets cheaper with γ
        return ((sy - b * sx) / n, b);
    }

    // The n-th measurement of a time. The first stands in until a second replaces it: a pass of a length the model has not
    // run yet may include a CUDA graph capture, many steps long, and an average seeded with it would keep that length (a
    // plain pass among them) looking slow for rounds after.
    private static double Measure(double old, int n, double value) => n <= 2 ? value : (1 - Smoothing) * old + Smoothing * value;
}
