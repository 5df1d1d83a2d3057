using Condensa.Runtime;
using Condensa.Speculative.Trees;

namespace Condensa.Speculative;

/// <summary>Chain speculation's planner: γ from the <see cref="GammaController"/> (fixed, or adapted to measured
/// acceptance and step times), as a chain of γ drafted tokens (γ = 0: the root alone, a plain decoding pass).</summary>
public sealed class ChainPlanner : IDraftPlanner
{
    private readonly GammaController _gamma;
    private readonly TreeShape?[] _chains;   // by γ, built on first use
    private TreeCalibration? _calibration;   // until the first round: where the controller starts
    private readonly Func<int, int> _passLength;

    /// <summary>Creates the planner: <paramref name="gamma"/> pins γ; otherwise it adapts within 0..<paramref name="maxGamma"/>,
    /// exploring first at γ = 1, or at <see cref="GammaController.FreeDraftsFirstGamma"/> for a drafter whose drafts cost no
    /// passes (<see cref="IDrafter.DraftsCostPasses"/>), or, with a <paramref name="calibration"/> of the pair
    /// (<c>condensa calibrate</c>), at the γ it predicts best for the first round's rows and context
    /// (<see cref="CalibratedGamma"/>) where that drafts at all; <paramref name="target"/>, where given, prices a
    /// verification by the tokens it pads the pass to (<see cref="IDecoder.PassLength"/>). A drafter whose drafts cost passes
    /// keeps state that catches up after plain rounds, which the controller leaves out of its draft-time pricing.</summary>
    public ChainPlanner(int? gamma, int maxGamma = Speculation.DefaultMaxGamma, IDrafter? drafter = null, IDecoder? target = null,
        TreeCalibration? calibration = null)
    {
        var freeDrafts = drafter is { DraftsCostPasses: false };
        _passLength = target is null ? n => n : target.PassLength;
        _gamma = new GammaController(gamma, maxGamma, freeDrafts ? GammaController.FreeDraftsFirstGamma : 1, _passLength,
            catchesUp: !freeDrafts);
        _chains = new TreeShape?[_gamma.MaxGamma + 1];
        _calibration = gamma is null ? calibration : null;
    }

    /// <summary>
    /// The γ a calibration predicts yields the most tokens a second at <paramref name="batch"/> rows and
    /// <paramref name="context"/> tokens (0: plain decoding): the chain model's Ω(γ, p₀) at the top-ranked draft's
    /// acceptance p₀, over a round of γ draft steps of one token and a verification of γ + 1 tokens padded as the target
    /// pads them (<see cref="TreeCalibration.ChainRoundSeconds"/>), against a plain step (<see cref="TreeCalibration.Plain"/>).
    /// </summary>
    public static int CalibratedGamma(TreeCalibration calibration, int maxGamma, int batch, int context, Func<int, int>? passLength = null)
    {
        ArgumentNullException.ThrowIfNull(calibration);
        var alpha = calibration.Acceptance.Length > 0 ? calibration.Acceptance[0] : 0;
        var (best, bestRate) = (0, 1 / Math.Max((calibration.Plain ?? calibration.Target).Seconds(batch, 1, context), 1e-12));
        for (var g = 1; g <= maxGamma; g++)
        {
            var seconds = calibration.ChainRoundSeconds(batch, g, context, passLength?.Invoke(g + 1));
            var rate = AcceptanceMath.ExpectedTokensPerRound(g, alpha) / Math.Max(seconds, 1e-12);
            if (rate > bestRate) (best, bestRate) = (g, rate);
        }
        return best;
    }

    /// <inheritdoc />
    public int MaxNodes => _gamma.MaxGamma + 1;

    /// <inheritdoc />
    public TreeShape Next(int activeRows, int context)
    {
        if (_calibration is { } calibration)
        {
            // the first round: start where the calibration says drafting pays most (where it says plain decoding does,
            // exploring from the default γ finds out whether the text drafts better than the calibration's)
            _calibration = null;
            if (CalibratedGamma(calibration, _gamma.MaxGamma, activeRows, context, _passLength) is > 0 and var start) _gamma.StartAt(start);
        }
        var gamma = _gamma.Next();
        return _chains[gamma] ??= TreeShape.Chain(gamma);
    }

    /// <inheritdoc />
    /// <remarks>The controller hears of the longest proposal's drafts for every active row, not of the drafts proposed: the pass
    /// verified that many for each row at one cost, and a row that drafted fewer (prompt lookup finding no match, or a
    /// shorter one) gained no more tokens from it, so the accepted share is the yield of the round's cost. (Prompt lookup's
    /// rows proposed a median 71-80 % of the longest proposal's drafts in its γ = 12 rounds at batch 32-64 on cuda, round 14
    /// a; counted as proposed, the share overstated what longer chains buy.)</remarks>
    public void Observe(TreeShape shape, int activeRows, int longestProposal, int proposed, int accepted, TimeSpan draftTime, TimeSpan verifyTime) =>
        _gamma.Observe(shape.Depth, Math.Max(proposed, activeRows * longestProposal), accepted, draftTime, verifyTime, verifiedGamma: longestProposal);
}
