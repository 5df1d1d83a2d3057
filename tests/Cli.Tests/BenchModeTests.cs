using Condensa.Cli.Bench;
using Condensa.Speculative;

namespace Condensa.Cli.Tests;

/// <summary>bench --speculative's entries: a mode, and "@N" pinning a chain's γ or a tree's size beside the planner's.</summary>
[TestClass]
public sealed class BenchModeTests
{
    [TestMethod]
    public void Options_PinnedChain_FixesGammaAndRaisesTheLargest()
    {
        var pinned = BenchMode.Parse("self@16");
        Assert.AreEqual("self", pinned.Mode);
        var options = pinned.Options(gamma: null, sinks: 4, window: 32, treeSize: null, treeDepth: null);
        Assert.AreEqual(SpeculationMode.Self, options.Mode);
        Assert.AreEqual(16, options.Gamma);
        Assert.AreEqual(16, options.MaxGamma, "the self drafter sizes its ring for the largest γ");
        Assert.AreEqual(Speculation.DefaultMaxGamma, BenchMode.Parse("draft@3").Options(null, 4, 32, null, null).MaxGamma);
    }

    [TestMethod]
    public void Options_Unpinned_TakesTheCommandsGammaAndTreeSize()
    {
        var chain = BenchMode.Parse("lookup").Options(gamma: 3, sinks: 4, window: 32, treeSize: 5, treeDepth: 2);
        Assert.AreEqual((SpeculationMode.Lookup, false, 3), (chain.Mode, chain.Tree, chain.Gamma));
        var tree = BenchMode.Parse("tree-draft").Options(gamma: 3, sinks: 4, window: 32, treeSize: 5, treeDepth: 2);
        Assert.AreEqual((SpeculationMode.Draft, true, 5, 2), (tree.Mode, tree.Tree, tree.TreeSize, tree.TreeDepth));
        Assert.AreEqual(SpeculationMode.None, BenchMode.Parse("none").Options(3, 4, 32, null, null).Mode);
    }

    [TestMethod]
    public void Options_PinnedTree_FixesItsSizeNotTheChainsGamma()
    {
        var pinned = BenchMode.Parse("tree-self@9");
        Assert.AreEqual(("tree-self@9", "tree-self", true), (pinned.Name, pinned.Mode, pinned.Tree));
        Assert.AreEqual(("self", "self", "draft"), (pinned.Drafter, BenchMode.Parse("self@12").Drafter, BenchMode.Parse("tree-draft").Drafter),
            "a tree and a chain of one drafter read one calibration");
        var options = pinned.Options(gamma: 3, sinks: 4, window: 32, treeSize: null, treeDepth: null);
        Assert.AreEqual((9, 3), (options.TreeSize, options.Gamma));
    }

    [TestMethod]
    [DataRow("bogus", "'bogus' is not one of none, draft, self, lookup, tree-draft, tree-self")]
    [DataRow("none@3", "'none@3': plain decoding has no γ or tree size to pin")]
    [DataRow("self@0", "'self@0': after '@' comes a positive γ")]
    [DataRow("self@x", "'self@x': after '@' comes a positive γ")]
    [DataRow("tree@4", "'tree' is not one of")]
    public void Parse_BadEntry_OneErrorNamingIt(string entry, string message)
    {
        var error = Assert.ThrowsExactly<ArgumentException>(() => BenchMode.Parse(entry));
        StringAssert.Contains(error.Message, message);
    }
}
