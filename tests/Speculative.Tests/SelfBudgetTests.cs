using Condensa.Runtime;

namespace Condensa.Speculative.Tests;

/// <summary>Self-speculation's budget: the window and sinks asked for, and a slack that keeps its compaction copies rare.</summary>
[TestClass]
public sealed class SelfBudgetTests
{
    [TestMethod]
    [DataRow(false, 256, null, 64, DisplayName = "a chain over a 256-token window: a quarter of it")]
    [DataRow(false, 16, null, 12, DisplayName = "a chain over a 16-token window: the longest chain, 12")]
    [DataRow(true, 256, null, 64, DisplayName = "trees up to 64 nodes over a 256-token window")]
    [DataRow(true, 256, 100, 100, DisplayName = "a pinned 100-node tree: the tree")]
    public void SelfBudget_SlackIsAQuarterOfTheWindowOrTheLongestDraft(bool tree, int window, int? treeSize, int slack)
    {
        var options = new SpeculationOptions { Mode = SpeculationMode.Self, Tree = tree, Sinks = 4, Window = window, TreeSize = treeSize };
        Assert.AreEqual(new KvBudget(4, window, slack), Speculation.SelfBudget(options));
        Assert.AreEqual(4 + window + slack, Speculation.DraftContextLimit(options), "the tree planner prices draft steps over the same slots");
    }
}
