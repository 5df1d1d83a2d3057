using Condensa.Speculative.Trees;

namespace Condensa.Speculative.Tests;

/// <summary>Self-speculation's window widens while the calibration prices the wider budget's draft step within a fifth of the
/// window's, at the loop's rows, and only as far as the calibration timed draft steps.</summary>
[TestClass]
public sealed class SelfWindowTests
{
    // A float16 drafter's chain step on a GPU: 0.167 ms of launches, 7 us a row, 7.5 ns a slot a row. A chain's budget over
    // 16 sinks and a window W holds 16 + W + (W + 13) slots: 541 at 256.
    private static readonly StepTimeModel GpuDraftStep = new(0.167e-3, 7e-6, 7.5e-9, 0);

    private static SpeculationOptions Options(int? maxWindow, StepTimeModel draftStep, params int[] timedContexts) => new()
    {
        Mode = SpeculationMode.Self, Sinks = 16, Window = 256, MaxWindow = maxWindow,
        Calibration = TreeCalibration.Default(541) with
        {
            ChainDraft = draftStep,
            ChainDraftSamples = [.. timedContexts.Select(c => new StepTimeSample(1, 1, c, draftStep.Seconds(1, 1, c)))],
        },
    };

    [TestMethod]
    [DataRow(1, 2048, DisplayName = "one row: 2,048 (4,125 slots, +15 %); 4,096 (8,189 slots) would cost +32 %")]
    [DataRow(8, 512, DisplayName = "eight rows: 512 (1,053 slots, +12 %); 1,024 (2,077 slots) would cost +36 %")]
    [DataRow(32, 256, DisplayName = "32 rows: 512 would cost +24 %, so 256")]
    public void SelfWindow_DoublesWhileTheDraftStepCostsAtMostAFifthMore(int rows, int expected)
    {
        var options = Options(8192, GpuDraftStep, 541, 1024, 4096, 7680);
        var window = Speculation.SelfWindow(options, rows);
        Assert.AreEqual(expected, window);
        double Seconds(int w) => GpuDraftStep.Seconds(rows, 1, Speculation.SelfBudget(options with { Window = w }).Slots);
        Assert.IsTrue(Seconds(window) <= 1.2 * Seconds(256), "the chosen window's draft step within a fifth of 256's");
        Assert.IsTrue(Seconds(window * 2) > 1.2 * Seconds(256), "the next doubling past it");
    }

    [TestMethod]
    [DataRow(0.171e-3, 0.64e-6, 6.0e-9, DisplayName = "the every-mode grid's calibration (round 35, g)")]
    [DataRow(0.190e-3, 2.68e-6, 5.3e-9, DisplayName = "the one- and eight-row call's calibration (round 35, f)")]
    public void SelfWindow_OnTheH100sMeasuredDraftSteps_TakesTheWindowsThatPaidThere(double fixedSeconds, double perToken, double perSlot)
    {
        // Both fits of a float16 demo-code-mha drafting for its float32 export give the windows the fixed-window runs found
        // best or near it: 2,048 at one row, 512 at eight, 256 at 32 and 64, where MagicDec's budget stays small.
        var options = Options(null, new StepTimeModel(fixedSeconds, perToken, perSlot, 0), 541, 1024, 4096, 7680);
        CollectionAssert.AreEqual(new[] { 2048, 512, 256, 256 }, new[] { 1, 8, 32, 64 }.Select(rows => Speculation.SelfWindow(options, rows)).ToArray());
    }

    [TestMethod]
    public void SelfWindow_StopsAtMaxWindow() =>
        Assert.AreEqual(512, Speculation.SelfWindow(Options(700, GpuDraftStep, 541, 7680), 1));

    [TestMethod]
    public void SelfWindow_PricesNoBudgetPastTheSlotsTheCalibrationTimed()
    {
        // A calibration that timed the drafter over its 541-slot budget alone fits no cost a slot: every window would look
        // free, so none is taken. Timed to 2,100 slots, the window widens to 1,024 (2,077 slots), not to 2,048 (4,125).
        var flat = new StepTimeModel(0.167e-3, 7e-6, 0, 0);
        Assert.AreEqual(256, Speculation.SelfWindow(Options(8192, flat, 541), 1));
        Assert.AreEqual(1024, Speculation.SelfWindow(Options(8192, flat, 541, 2100), 1));
    }

    [TestMethod]
    public void SelfWindow_WidensUpToTheDefaultWithoutMaxWindow_KeepsItAtTheWindowWithoutACalibrationOrSelfSpeculation()
    {
        Assert.AreEqual(2048, Speculation.SelfWindow(Options(null, GpuDraftStep, 541, 7680), 1));
        Assert.AreEqual(4096, Speculation.SelfWindow(Options(null, new StepTimeModel(0.167e-3, 7e-6, 0, 0), 541, 20000), 1), "flat: up to 4,096");
        Assert.AreEqual(256, Speculation.SelfWindow(Options(256, GpuDraftStep, 541, 7680), 1), "MaxWindow = Window: none");
        Assert.AreEqual(256, Speculation.SelfWindow(Options(8192, GpuDraftStep, 541, 7680) with { Calibration = null }, 1));
        Assert.AreEqual(256, Speculation.SelfWindow(Options(8192, GpuDraftStep, 541, 7680) with { Mode = SpeculationMode.Draft }, 1));
    }

    [TestMethod]
    public void ForBatch_WidensTheBudgetAndTheCalibrationsDraftLimitTogether()
    {
        var options = Options(8192, GpuDraftStep, 541, 7680);
        var one = Speculation.ForBatch(options, 1);
        Assert.AreEqual(2048, one.Window);
        Assert.AreEqual(Speculation.SelfBudget(one).Slots, one.Calibration!.DraftContextLimit, "the planner prices the budget the drafter reads");
        Assert.AreEqual(4125, one.Calibration.DraftContextLimit);
        Assert.AreSame(options, Speculation.ForBatch(options, 32), "32 rows keep the options as given");
    }

    [TestMethod]
    public void Validate_RefusesAMaxWindowUnderTheWindow()
    {
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new SpeculationOptions { Mode = SpeculationMode.Self, Window = 256, MaxWindow = 128 }.Validate());
        Assert.AreEqual("MaxWindow", e.ParamName);
    }
}
