using Condensa.Runtime.Kv;

namespace Condensa.Runtime.Tests;

/// <summary>A budgeted row's compaction (<see cref="BudgetRows.MakeRoom"/>): where its copy of the last window lands, and
/// the slack that keeps that copy apart from itself (a plain strided copy on cuda, not a graph run).</summary>
[TestClass]
public sealed class BudgetRowsTests
{
    private const int Sinks = 4, Window = 16;

    [TestMethod]
    public void MakeRoom_SlackOfTheWindowAndARound_MovesTheWindowWithoutOverlap()
    {
        var (moves, overlapping) = Decode(new KvBudget(Sinks, Window, Window + 6));
        Assert.IsGreaterThan(20, moves, "the row compacts again and again");
        Assert.AreEqual(0, overlapping);
    }

    [TestMethod]
    public void MakeRoom_SlackUnderTheWindow_MovesItOntoItself()
    {
        var (moves, overlapping) = Decode(new KvBudget(Sinks, Window, Window / 4 + 6));
        Assert.IsGreaterThan(0, overlapping);
        Assert.AreEqual(moves, overlapping, "every move of the last window a quarter-window down overlaps itself");
    }

    [TestMethod]
    public void MakeRoom_KeepsTheSinksAndTheLastWindow()
    {
        var budget = new KvBudget(Sinks, Window, Window + 6);
        var rows = new BudgetRows(budget, batch: 1);
        var moves = new KvMoves();
        var length = 0;
        while (rows.Fills[0] + 5 <= budget.Slots)
        {
            rows.MakeRoom(0, length, 5, budget.Slots, moves.Clear());
            Assert.AreEqual(0, moves.Count, "no compaction while the slots hold every position");
            rows.Fills[0] += 5;
            length += 5;
        }
        var fill = rows.Fills[0];

        rows.MakeRoom(0, length, 5, budget.Slots, moves.Clear());

        Assert.AreEqual(1, moves.Count);
        Assert.AreEqual(new KvRun(0, fill - Window, 0, Sinks, Window), moves.Runs[0], "the last window moves down behind the sinks");
        Assert.AreEqual(Sinks + Window, rows.Fills[0]);
    }

    // A row decoding rounds of 1-6 entries (a chain's accepted tokens and its bonus token) for 600 tokens: its compactions,
    // and how many of them move entries onto slots they read.
    private static (int Moves, int Overlapping) Decode(KvBudget budget)
    {
        var rows = new BudgetRows(budget, batch: 1);
        var moves = new KvMoves();
        int length = 0, count = 0, overlapping = 0;
        for (var round = 0; length < 600; round++)
        {
            var entries = 1 + round % 6;
            rows.MakeRoom(0, length, entries, budget.Slots, moves.Clear());
            foreach (var run in moves.Runs)
            {
                count++;
                if (run.From < run.To + run.Count && run.To < run.From + run.Count) overlapping++;
            }
            rows.Fills[0] += entries;
            length += entries;
        }
        return (count, overlapping);
    }
}
