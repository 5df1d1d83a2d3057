namespace Condensa.Speculative.Tests;

[TestClass]
public sealed class GammaControllerTests
{
    [TestMethod]
    public void Next_Fixed_AlwaysReturnsIt()
    {
        var controller = new GammaController(fixedGamma: 5);
        controller.Observe(5, 5, 0, TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(10));
        Assert.AreEqual(5, controller.Next());
    }

    [TestMethod]
    public void Next_HighAcceptanceCheapDraft_ChoosesLongerChainThanLowAcceptance()
    {
        var high = Trained(acceptance: 0.9, draftMs: 0.5, verifyMs: gamma => 20 + gamma);
        var low = Trained(acceptance: 0.3, draftMs: 0.5, verifyMs: gamma => 20 + gamma);
        Assert.IsGreaterThan(low.Next(), high.Next());
    }

    [TestMethod]
    public void Next_ExpensiveDraft_ChoosesShorterChain()
    {
        var cheap = Trained(acceptance: 0.8, draftMs: 0.2, verifyMs: gamma => 10);
        var costly = Trained(acceptance: 0.8, draftMs: 8, verifyMs: gamma => 10);
        Assert.IsGreaterThan(costly.Next(), cheap.Next());
    }

    [TestMethod]
    public void ExpectedTokensPerRound_MatchesClosedForm()
    {
        Assert.AreEqual(1.0, AcceptanceMath.ExpectedTokensPerRound(4, 0), 1e-12);
        Assert.AreEqual(5.0, AcceptanceMath.ExpectedTokensPerRound(4, 1), 1e-12);
        Assert.AreEqual((1 - Math.Pow(0.8, 5)) / 0.2, AcceptanceMath.ExpectedTokensPerRound(4, 0.8), 1e-12);
        Assert.AreEqual(3.0, AcceptanceMath.Speedup(2, 1.0, draftStep: 0, verify: 1, targetStep: 1), 1e-12);
    }

    /// <summary>A controller fed 40 rounds over γ = 1..8 with the given acceptance and step times.</summary>
    private static GammaController Trained(double acceptance, double draftMs, Func<int, double> verifyMs)
    {
        var controller = new GammaController(fixedGamma: null, maxGamma: 8);
        for (var round = 0; round < 40; round++)
        {
            var gamma = round % 8 + 1;
            controller.Observe(gamma, proposed: 100 * gamma, accepted: (int)(100 * gamma * acceptance),
                TimeSpan.FromMilliseconds(draftMs * gamma), TimeSpan.FromMilliseconds(verifyMs(gamma)));
        }
        return controller;
    }
}
