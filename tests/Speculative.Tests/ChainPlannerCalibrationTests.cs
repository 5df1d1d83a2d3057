using Condensa.Speculative.Trees;

namespace Condensa.Speculative.Tests;

/// <summary>An adaptive chain's start from the pair's calibration (<see cref="ChainPlanner.CalibratedGamma"/>).</summary>
[TestClass]
public sealed class ChainPlannerCalibrationTests
{
    // Times in seconds: a draft step 0.1 ms, a verification 1 ms whatever its length, a plain step 1 ms, at any batch and context.
    private static TreeCalibration Calibration(double acceptance, double verifyMs = 1, double plainMs = 1) => new()
    {
        Drafter = "self-2-8",
        Acceptance = [acceptance, 0.01],
        Target = new StepTimeModel(verifyMs / 1000, 0, 0, 0),
        Draft = new StepTimeModel(0.0001, 0, 0, 0),
        Plain = new StepTimeModel(plainMs / 1000, 0, 0, 0),
    };

    [TestMethod]
    public void CalibratedGamma_PicksTheChainOfTheMostTokensASecond()
    {
        // α = 0.5: γ = 1 yields 1.5 tokens in 1.1 ms, γ = 2 1.75 in 1.2 (the best), γ = 3 1.875 in 1.3; a plain step 1 in 1 ms
        Assert.AreEqual(2, ChainPlanner.CalibratedGamma(Calibration(0.5), maxGamma: 12, batch: 8, context: 1024));
        // nearly every draft accepted: the longest chain allowed
        Assert.AreEqual(12, ChainPlanner.CalibratedGamma(Calibration(0.99), maxGamma: 12, batch: 8, context: 1024));
        Assert.AreEqual(5, ChainPlanner.CalibratedGamma(Calibration(0.99), maxGamma: 5, batch: 8, context: 1024));
    }

    [TestMethod]
    public void CalibratedGamma_PlainStepBeatingEveryChain_IsZero()
    {
        // a verification of twenty plain steps: γ = 12 at α = 0.99 (12.2 tokens for 21.2 ms) loses to 1 token a millisecond
        Assert.AreEqual(0, ChainPlanner.CalibratedGamma(Calibration(0.99, verifyMs: 20), maxGamma: 12, batch: 8, context: 1024));
    }

    [TestMethod]
    public void CalibratedGamma_PricesAVerificationAsTheTargetPadsIt()
    {
        // a verification 1 ms + 0.2 ms a token: γ = 12 (13 tokens, 4.8 ms with its drafts, 12.2 tokens) is the best chain; a
        // target that pads a pass of more than 8 tokens to 32 makes it cost 8.6 ms, and γ = 7 (8 tokens, 3.3 ms) wins
        var calibration = Calibration(0.99) with { Target = new StepTimeModel(0.001, 0.0002, 0, 0) };
        Assert.AreEqual(12, ChainPlanner.CalibratedGamma(calibration, maxGamma: 12, batch: 1, context: 64));
        Assert.AreEqual(7, ChainPlanner.CalibratedGamma(calibration, maxGamma: 12, batch: 1, context: 64, passLength: n => n <= 8 ? 8 : 32));
    }

    [TestMethod]
    public void CalibratedGamma_PricesDraftsAndVerificationAsChainsRunThem()
    {
        // tree-shaped drafts of 2 ms make γ = 12 (12.2 tokens in 25 ms) lose to a plain step; the chain's own draft step of
        // 0.1 ms and verification of 1 ms make it win
        var trees = Calibration(0.99) with { Draft = new StepTimeModel(0.002, 0, 0, 0), Target = new StepTimeModel(0.002, 0, 0, 0) };
        Assert.AreEqual(0, ChainPlanner.CalibratedGamma(trees, maxGamma: 12, batch: 8, context: 1024));
        var chains = trees with { ChainDraft = new StepTimeModel(0.0001, 0, 0, 0), ChainTarget = new StepTimeModel(0.001, 0, 0, 0) };
        Assert.AreEqual(12, ChainPlanner.CalibratedGamma(chains, maxGamma: 12, batch: 8, context: 1024));
    }

    [TestMethod]
    public void CalibratedGamma_Round32sSelfPairAtOneRow_StartsAtTheLongestChainOnlyWithChainPrices()
    {
        // round 32 e's calibration of the self pair on an H100 (float32 target, float16 drafts; cal-self.out): priced with
        // its tree-shaped draft pass (0.39 ms) a chain loses to the 0.41 ms plain step at 1 x 1,024, and the chain started
        // from γ = 1 (c's trace: 0 0 1 1 7 12); priced with the chain draft step it measured (0.17 ms), γ = 12 comes first
        var measured = new TreeCalibration
        {
            Drafter = "self-16-256-fp16", Acceptance = [0.988, 0.012], DraftContextLimit = 541,
            Target = new StepTimeModel(0.578e-3, 2.91e-6, 13.7e-9, 1.209e-9),
            Draft = new StepTimeModel(0.392e-3, 2.82e-6, 14.6e-9, 0),
            Plain = new StepTimeModel(0.384e-3, 10.98e-6, 14.2e-9, 0),
        };
        static int Pad(int n) => (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)n);
        Assert.AreEqual(0, ChainPlanner.CalibratedGamma(measured, maxGamma: 12, batch: 1, context: 1024, passLength: Pad));
        var chains = measured with
        {
            ChainTarget = new StepTimeModel(0.575e-3, 2.85e-6, 13.4e-9, 1.196e-9),
            ChainDraft = new StepTimeModel(0.172e-3, 3.72e-6, 0, 0),
        };
        Assert.AreEqual(12, ChainPlanner.CalibratedGamma(chains, maxGamma: 12, batch: 1, context: 1024, passLength: Pad));
    }

    [TestMethod]
    public void ChainPlanner_WithACalibrationWhereLongChainsPay_ExploresTheirGammaFirst()
    {
        Assert.AreEqual("0 0 12 12", FirstRounds(Calibration(0.99)), "from the calibration");
        Assert.AreEqual("0 0 1 1", FirstRounds(calibration: null), "without one: from γ = 1");
        Assert.AreEqual("0 0 1 1", FirstRounds(Calibration(0.99, verifyMs: 20)), "a calibration predicting plain decoding: from γ = 1");
    }

    [TestMethod]
    public void ChainPlanner_FixedGamma_IgnoresTheCalibration()
    {
        var planner = new ChainPlanner(gamma: 3, calibration: Calibration(0.99));
        Assert.AreEqual(3, planner.Next(activeRows: 8, context: 1024).Depth);
    }

    [TestMethod]
    public void GammaController_StartAtAfterARound_Throws()
    {
        var controller = new GammaController(fixedGamma: null);
        controller.Observe(0, 0, 0, TimeSpan.Zero, TimeSpan.FromMilliseconds(1));
        Assert.ThrowsExactly<InvalidOperationException>(() => controller.StartAt(12));
        var fresh = new GammaController(fixedGamma: null, maxGamma: 8);
        fresh.StartAt(12);
        Assert.AreEqual(8, fresh.FirstGamma, "clamped to the largest γ");
    }

    // The γ of a planner's first four rounds at 8 rows and 1,024 tokens: a plain step 1 ms, drafts accepted throughout.
    private static string FirstRounds(TreeCalibration? calibration)
    {
        var planner = new ChainPlanner(gamma: null, calibration: calibration);
        var choices = new List<int>();
        for (var round = 0; round < 4; round++)
        {
            var shape = planner.Next(activeRows: 8, context: 1024);
            var gamma = shape.Depth;
            choices.Add(gamma);
            planner.Observe(shape, activeRows: 8, longestProposal: gamma, proposed: 8 * gamma, accepted: 8 * gamma,
                TimeSpan.FromMilliseconds(0.1 * gamma), TimeSpan.FromMilliseconds(1));
        }
        return string.Join(" ", choices);
    }
}
