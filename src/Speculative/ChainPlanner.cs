using Condensa.Runtime;
using Condensa.Speculative.Trees;

namespace Condensa.Speculative;

/// <summary>Chain speculation's planner: γ from the <see cref="GammaController"/> (fixed, or adapted to measured
/// acceptance and step times), as a chain of γ drafted tokens (γ = 0: the root alone, a plain decoding pass).</summary>
public sealed class ChainPlanner : IDraftPlanner
{
    private readonly GammaController _gamma;
    private readonly TreeShape?[] _chains;   // by γ, built on first use

    /// <summary>Creates the planner: <paramref name="gamma"/> pins γ; otherwise it adapts within 0..<paramref name="maxGamma"/>,
    /// exploring first at γ = 1, or at <see cref="GammaController.FreeDraftsFirstGamma"/> for a drafter whose drafts cost no
    /// passes (<see cref="IDrafter.DraftsCostPasses"/>); <paramref name="target"/>, where given, prices a verification by the
    /// tokens it pads the pass to (<see cref="IDecoder.PassLength"/>). A drafter whose drafts cost passes keeps state that
    /// catches up after plain rounds, which the controller leaves out of its draft-time pricing.</summary>
    public ChainPlanner(int? gamma, int maxGamma = Speculation.DefaultMaxGamma, IDrafter? drafter = null, IDecoder? target = null)
    {
        var freeDrafts = drafter is { DraftsCostPasses: false };
        _gamma = new GammaController(gamma, maxGamma, freeDrafts ? GammaController.FreeDraftsFirstGamma : 1,
            target is null ? null : target.PassLength, catchesUp: !freeDrafts);
        _chains = new TreeShape?[_gamma.MaxGamma + 1];
    }

    /// <inheritdoc />
    public int MaxNodes => _gamma.MaxGamma + 1;

    /// <inheritdoc />
    public TreeShape Next(int activeRows, int context)
    {
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
