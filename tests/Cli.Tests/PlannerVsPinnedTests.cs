using Condensa.Cli.Bench;

namespace Condensa.Cli.Tests;

/// <summary>The planner against the best pinned entry of its mode, per cell of a bench --speculative run.</summary>
[TestClass]
public sealed class PlannerVsPinnedTests
{
    private static SpeculativeBenchRow Row(string mode, int batch, double speedup) =>
        new(mode, batch, 7680, 1000 * speedup, speedup, 0.8, 3, 4, "γ", 1, 2, batch);

    [TestMethod]
    public void Lines_PlannerBesidePinned_ComparesWithTheBestPinnedOfItsModeInItsCell()
    {
        SpeculativeBenchRow[] rows =
        [
            Row("none", 32, 1), Row("self", 32, 2.01), Row("self@3", 32, 1.57), Row("self@12", 32, 2.07), Row("lookup", 32, 4.0),
            Row("draft@3", 32, 9.0),   // another mode's pin: not self's
            Row("none", 64, 1), Row("self", 64, 1.69), Row("self@12", 64, 1.68),
        ];

        var lines = PlannerVsPinned.Lines(rows);

        CollectionAssert.AreEqual(new[]
        {
            "self at batch 32 x 7680: the planner 2.01x, the best pinned self@12 2.07x (-2.9 %)",
            "self at batch 64 x 7680: the planner 1.69x, the best pinned self@12 1.68x (+0.6 %)",
        }, lines.ToArray(), string.Join("\n", lines));
    }

    [TestMethod]
    public void Lines_NoPinnedEntries_None() =>
        Assert.IsEmpty(PlannerVsPinned.Lines([Row("none", 8, 1), Row("self", 8, 1.2), Row("self@3", 16, 1.1)]));
}
