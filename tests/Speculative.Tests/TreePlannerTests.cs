namespace Condensa.Speculative.Tests;

[TestClass]
public sealed class TreePlannerTests
{
    private static readonly double[] Acceptance = [0.7, 0.12, 0.05, 0.03, 0.02];

    [TestMethod]
    public void Choose_MemoryBoundVerify_TreeGrowsWithContext()
    {
        // GPU-like: a pass costs its KV read (per slot) and hardly anything per new token, so at long context verifying
        // more nodes is nearly free next to the fixed read, and the best tree grows (MagicDec's argument, for trees).
        var planner = new TreePlanner(Calibration(target: new StepTimeModel(1e-3, 2e-6, 1e-6, 0), draft: new StepTimeModel(2e-4, 1e-6, 0, 0)));
        var sizes = new[] { 64, 1024, 16384 }.Select(c => planner.Best(batch: 1, context: c).Nodes).ToArray();
        Assert.IsLessThan(sizes[1], sizes[0], string.Join(", ", sizes));
        Assert.IsLessThan(sizes[2], sizes[1], string.Join(", ", sizes));
    }

    [TestMethod]
    public void Choose_ComputeBoundAttention_TreeShrinksWithContext()
    {
        // CPU-like: every new token attends over every slot, so a node costs more the longer the context.
        var planner = new TreePlanner(Calibration(target: new StepTimeModel(1e-3, 1e-5, 0, 1e-7), draft: new StepTimeModel(2e-4, 2e-6, 0, 0)));
        var small = planner.Best(1, 64).Nodes;
        var large = planner.Best(1, 8192).Nodes;
        Assert.IsLessThan(small, large, $"{small} nodes at 64, {large} at 8192");
    }

    [TestMethod]
    public void Choose_PinnedSizeAndDepth_ReturnsTheSequoiaTreeOfThatSize()
    {
        var planner = new TreePlanner(Calibration(new StepTimeModel(1, 0, 0, 0), new StepTimeModel(0, 0, 0, 0)), nodes: 9, depth: 3);
        var shape = planner.Choose(4, 500);
        Assert.AreEqual(9, shape.Count);
        Assert.IsLessThanOrEqualTo(3, shape.Depth);
        Assert.AreEqual(new TreeBuilder(Acceptance, 9, 3).ExpectedTokens(9, 3), shape.ExpectedTokens(Acceptance), 1e-12);
    }

    [TestMethod]
    public void Fit_ExactSamples_RecoversTheCoefficients()
    {
        var truth = new StepTimeModel(0.004, 2e-4, 1.5e-6, 8e-8);
        var samples = (from b in new[] { 1, 4 } from s in new[] { 1, 4, 16 } from c in new[] { 128, 1024 }
                       select new StepTimeSample(b, s, c, truth.Seconds(b, s, c))).ToList();
        var fit = StepTimeModel.Fit(samples);
        Assert.AreEqual(truth.Fixed, fit.Fixed, 1e-9);
        Assert.AreEqual(truth.PerToken, fit.PerToken, 1e-11);
        Assert.AreEqual(truth.PerContext, fit.PerContext, 1e-12);
        Assert.AreEqual(truth.PerTokenContext, fit.PerTokenContext, 1e-14);
    }

    [TestMethod]
    public void Fit_TimeFallingWithContext_DropsThatTerm()
    {
        // Noise that makes longer contexts look faster must not yield a negative coefficient.
        List<StepTimeSample> samples = [new(1, 1, 100, 0.010), new(1, 1, 1000, 0.009), new(1, 8, 100, 0.020), new(1, 8, 1000, 0.019)];
        var fit = StepTimeModel.Fit(samples);
        Assert.IsTrue(fit.Fixed >= 0 && fit.PerToken >= 0 && fit.PerContext >= 0 && fit.PerTokenContext >= 0, fit.ToString());
    }

    [TestMethod]
    public void Calibration_SaveThenLoad_RoundTrips()
    {
        var dir = Directory.CreateTempSubdirectory("condensa-calibration-").FullName;
        var calibration = Calibration(new StepTimeModel(1, 2, 3, 4), new StepTimeModel(5, 6, 7, 8)) with
        {
            DraftContextLimit = 336,
            TargetSamples = [new StepTimeSample(1, 2, 3, 0.5)],
        };
        calibration.Save(dir);
        var loaded = TreeCalibration.Load(dir, "test")!;
        CollectionAssert.AreEqual(calibration.Acceptance, loaded.Acceptance);
        Assert.AreEqual(calibration.Target, loaded.Target);
        Assert.AreEqual(calibration.Draft, loaded.Draft);
        Assert.AreEqual(336, loaded.DraftContextLimit);
        Assert.AreEqual(calibration.TargetSamples[0], loaded.TargetSamples[0]);
        Assert.IsNull(TreeCalibration.Load(dir, "other"));
    }

    private static TreeCalibration Calibration(StepTimeModel target, StepTimeModel draft) =>
        new() { Drafter = "test", Acceptance = Acceptance, Target = target, Draft = draft };
}
