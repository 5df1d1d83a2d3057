using System.Globalization;

namespace Condensa.Cli.Bench;

/// <summary>
/// Where <c>bench --speculative</c> ran a mode with its planner and pinned beside it (self with self@3 and self@12): per
/// batch and prompt length, the planner's speedup against the best pinned entry's. The best fixed γ or tree is only known
/// after the fact; the planner has to find it while decoding, and this says what that costs.
/// </summary>
internal static class PlannerVsPinned
{
    /// <summary>One line per (cell, planned mode) that has pinned entries beside it, in the rows' order.</summary>
    public static IReadOnlyList<string> Lines(IReadOnlyList<SpeculativeBenchRow> rows)
    {
        var lines = new List<string>();
        foreach (var cell in rows.GroupBy(r => (r.Batch, r.PromptTokens)))
        foreach (var planned in cell.Where(r => r.Mode != "none" && BenchMode.Parse(r.Mode).Pin is null))
        {
            var best = cell.Where(r => BenchMode.Parse(r.Mode) is { Pin: not null } m && m.Mode == planned.Mode).MaxBy(r => r.Speedup);
            if (best is null) continue;
            var gap = 100 * (planned.Speedup / best.Speedup - 1);
            lines.Add(string.Create(CultureInfo.InvariantCulture,
                $"{planned.Mode} at batch {cell.Key.Batch} x {cell.Key.PromptTokens}: the planner {planned.Speedup:F2}x, the best pinned " +
                $"{best.Mode} {best.Speedup:F2}x ({gap:+0.0;-0.0;0.0} %)"));
        }
        return lines;
    }
}
