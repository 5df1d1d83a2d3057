using Condensa.Runtime;

namespace Condensa.Speculative.Tests;

/// <summary>Self-speculation's budget: the window and sinks asked for, and a slack that keeps its compaction copies rare and apart from themselves.</summary>
[TestClass]
public sealed class SelfBudgetTests
{
    [TestMethod]
    [DataRow(false, 256, null, 269, DisplayName = "a chain over a 256-token window: the window and a round of the longest chain, 13")]
    [DataRow(false, 16, null, 29, DisplayName = "a chain over a 16-token window: 16 + 13")]
    [DataRow(true, 256, null, 321, DisplayName = "trees up to 64 nodes over a 256-token window: 256 + 65")]
    [DataRow(true, 256, 100, 357, DisplayName = "a pinned 100-node tree: 256 + 101")]
    public void SelfBudget_SlackIsTheWindowAndARoundsEntries(bool tree, int window, int? treeSize, int slack)
    {
        var options = new SpeculationOptions { Mode = SpeculationMode.Self, Tree = tree, Sinks = 4, Window = window, TreeSize = treeSize };
        Assert.AreEqual(new KvBudget(4, window, slack), Speculation.SelfBudget(options));
        Assert.AreEqual(4 + window + slack, Speculation.DraftContextLimit(options), "the tree planner prices draft steps over the same slots");
    }
}
