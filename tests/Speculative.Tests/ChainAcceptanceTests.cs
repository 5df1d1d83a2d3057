namespace Condensa.Speculative.Tests;

/// <summary>The controller's estimate of what chains of each γ get accepted (<see cref="ChainAcceptance"/>).</summary>
[TestClass]
public sealed class ChainAcceptanceTests
{
    [TestMethod]
    public void ExpectedAccepted_RowsThatAcceptAllOrNothing_AtTheGammaMeasured_IsWhatItMeasured()
    {
        // 32 rows, half accepting all 8 drafts, half none: 4 a chain at γ = 8. The chain model fitted to that share (α ≈ 0.87)
        // would expect ~4.0 at 8 too, but ~1.7 at γ = 2, where such rows accept 1 a chain: the estimate at 8 is the measurement
        var acceptance = new ChainAcceptance(maxGamma: 12);
        for (var round = 0; round < 20; round++) acceptance.Observe(gamma: 8, proposed: 32 * 8, accepted: 16 * 8);
        Assert.AreEqual(4.0, acceptance.ExpectedAccepted(8), 0.01);
        Assert.AreEqual(AcceptanceMath.ExpectedTokensPerRound(2, acceptance.Alpha) - 1, acceptance.ExpectedAccepted(2), 1e-9, "γ = 2 unmeasured: the chain model");
    }

    [TestMethod]
    public void ExpectedAccepted_OneRowThroughAHardStretch_RemembersTheEasyRoundsBeforeIt()
    {
        // round 30 k at 1 x 7,680: eleven γ = 12 rounds accepting everything, then 5, 0 and 2. A five-round memory put γ = 12
        // at ~7 accepted (below what beat plain decoding there); one row's rounds are discounted by 0.95, so it stays above 9
        var acceptance = new ChainAcceptance(maxGamma: 12);
        for (var round = 0; round < 11; round++) acceptance.Observe(gamma: 12, proposed: 12, accepted: 12);
        foreach (var accepted in new[] { 5, 0, 2 }) acceptance.Observe(gamma: 12, proposed: 12, accepted: accepted);
        Assert.IsGreaterThan(9.0, acceptance.ExpectedAccepted(12));
    }

    [TestMethod]
    public void ExpectedAccepted_ManyRowsARound_FollowsTheLatestRounds()
    {
        // 32 rows a round average 32 chains: a change in the text shows within a few rounds (each round discounts the ones
        // before by 0.8, as before acceptance was kept by rows): ten rounds on, the old rounds weigh a tenth (4 a chain
        // then, 1 now: ~1.3)
        var acceptance = new ChainAcceptance(maxGamma: 12);
        for (var round = 0; round < 20; round++) acceptance.Observe(gamma: 4, proposed: 32 * 4, accepted: 32 * 4);
        for (var round = 0; round < 10; round++) acceptance.Observe(gamma: 4, proposed: 32 * 4, accepted: 32 * 1);
        Assert.IsInRange(1.0, 1.5, acceptance.ExpectedAccepted(4));
    }

    [TestMethod]
    public void ExpectedAccepted_AnOldMeasurement_GivesWayToTheModelOfNewerRounds()
    {
        // γ = 12 measured poor (a hard stretch), then forty rounds of γ = 3 accepting everything: the old γ = 12 figure fades
        // (each round discounts it, 0.95 at one row) toward what the newer rounds' α predicts for γ = 12
        var acceptance = new ChainAcceptance(maxGamma: 12);
        for (var round = 0; round < 3; round++) acceptance.Observe(gamma: 12, proposed: 12, accepted: 1);
        var poor = acceptance.ExpectedAccepted(12);
        for (var round = 0; round < 40; round++) acceptance.Observe(gamma: 3, proposed: 3, accepted: 3);
        Assert.IsLessThan(2.0, poor);
        Assert.IsGreaterThan(6.0, acceptance.ExpectedAccepted(12), "most of the way to the chain model's ~9.8 at α ≈ 0.97");
    }
}
