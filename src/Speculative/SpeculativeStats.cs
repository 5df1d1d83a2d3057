using Condensa.Runtime.Generation;

namespace Condensa.Speculative;

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

    /// <summary>Adds one round over <paramref name="activeRows"/> rows.</summary>
    internal void Record(int activeRows, int proposed, int accepted, TimeSpan draftTime, TimeSpan verifyTime)
    {
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
