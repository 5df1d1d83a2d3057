using Condensa.Runtime.Generation;
using Condensa.Speculative.Trees;

namespace Condensa.Speculative;

/// <summary>One speculative round, as <see cref="SpeculativeStats.Trace"/> keeps it.</summary>
/// <param name="PlannedDrafts">Drafts the planner's shape held beside its root (γ for a chain; 0: a plain pass).</param>
/// <param name="PlannedDepth">The shape's draft levels.</param>
/// <param name="LongestProposal">Drafts in the longest row's proposal: what the verification pass verified.</param>
/// <param name="ActiveRows">Rows the round served.</param>
/// <param name="Proposed">Drafts proposed over all rows.</param>
/// <param name="Accepted">Drafts accepted over all rows.</param>
/// <param name="DraftMilliseconds">Drafting time.</param>
/// <param name="VerifyMilliseconds">Verification and commit time.</param>
public readonly record struct SpeculativeRound(int PlannedDrafts, int PlannedDepth, int LongestProposal, int ActiveRows, int Proposed, int Accepted,
    double DraftMilliseconds, double VerifyMilliseconds);

/// <summary>What speculation did: rounds, drafted and accepted tokens, and where the time went.</summary>
public sealed class SpeculativeStats
{
    /// <summary>Counts and speeds as for plain generation.</summary>
    public GenerationStats Generation { get; } = new();

    /// <summary>Verification rounds (all rows together count once).</summary>
    public int Rounds { get; internal set; }

    /// <summary>Row-rounds: rounds times active rows.</summary>
    public int RowRounds { get; internal set; }

    /// <summary>Draft tokens proposed.</summary>
    public int Proposed { get; internal set; }

    /// <summary>Draft tokens accepted.</summary>
    public int Accepted { get; internal set; }

    /// <summary>Time spent drafting.</summary>
    public TimeSpan DraftTime { get; internal set; }

    /// <summary>Time spent in verification passes.</summary>
    public TimeSpan VerifyTime { get; internal set; }

    /// <summary>Every round in order, when given a list (a diagnostic: what the planner chose and what each round cost);
    /// null keeps the totals alone.</summary>
    public List<SpeculativeRound>? Trace { get; init; }

    /// <summary>Rounds by the drafts the planner's shape held beside its root (γ for a chain; 0: a plain pass): what an
    /// adaptive planner chose, kept whether or not <see cref="Trace"/> is.</summary>
    public IReadOnlyDictionary<int, int> RoundsByPlannedDrafts => _roundsByPlannedDrafts;

    private readonly SortedDictionary<int, int> _roundsByPlannedDrafts = [];

    /// <summary>Adds one round of <paramref name="shape"/> over <paramref name="activeRows"/> rows.</summary>
    internal void Record(TreeShape shape, int longestProposal, int activeRows, int proposed, int accepted, TimeSpan draftTime, TimeSpan verifyTime)
    {
        Trace?.Add(new SpeculativeRound(shape.Count - 1, shape.Depth, longestProposal, activeRows, proposed, accepted, draftTime.TotalMilliseconds,
            verifyTime.TotalMilliseconds));
        _roundsByPlannedDrafts[shape.Count - 1] = _roundsByPlannedDrafts.GetValueOrDefault(shape.Count - 1) + 1;
        Rounds++;
        RowRounds += activeRows;
        Proposed += proposed;
        Accepted += accepted;
        DraftTime += draftTime;
        VerifyTime += verifyTime;
    }

    /// <summary>Fraction of drafted tokens accepted.</summary>
    public double AcceptanceRate => Proposed > 0 ? (double)Accepted / Proposed : 0;

    /// <summary>Mean drafts accepted per row-round.</summary>
    public double MeanAcceptedPerRound => RowRounds > 0 ? (double)Accepted / RowRounds : 0;

    /// <summary>Mean rows a round served (fewer than the batch once rows that accepted more finish first).</summary>
    public double MeanRowsPerRound => Rounds > 0 ? (double)RowRounds / Rounds : 0;

    /// <summary>Mean drafts proposed per row-round: the γ a chain used, the nodes a tree held beside its root.</summary>
    public double MeanProposedPerRound => RowRounds > 0 ? (double)Proposed / RowRounds : 0;

    /// <summary>Mean draft time per round, in milliseconds.</summary>
    public double DraftMillisecondsPerRound => Rounds > 0 ? DraftTime.TotalMilliseconds / Rounds : 0;

    /// <summary>Mean verification time per round, in milliseconds.</summary>
    public double VerifyMillisecondsPerRound => Rounds > 0 ? VerifyTime.TotalMilliseconds / Rounds : 0;
}
