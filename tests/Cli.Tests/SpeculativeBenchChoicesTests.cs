using Condensa.Cli.Bench;

namespace Condensa.Cli.Tests;

/// <summary>How the speculative bench's plan column names what an adaptive planner chose.</summary>
[TestClass]
public sealed class SpeculativeBenchChoicesTests
{
    [TestMethod]
    public void Choices_MostTakenFirst_WithSharesAndTheRareOnesLeftOut()
    {
        var rounds = new SortedDictionary<int, int> { [0] = 19, [1] = 2, [3] = 79 };
        Assert.AreEqual("3 79 %, 0 19 %", SpeculativeBench.Choices(rounds));
    }

    [TestMethod]
    public void Choices_EqualShares_SmallerGammaFirst()
    {
        var rounds = new SortedDictionary<int, int> { [4] = 5, [2] = 5 };
        Assert.AreEqual("2 50 %, 4 50 %", SpeculativeBench.Choices(rounds));
    }

    [TestMethod]
    public void Choices_MoreThanThree_ShowsTheThreeMostTaken()
    {
        var rounds = new SortedDictionary<int, int> { [0] = 10, [1] = 20, [2] = 30, [3] = 40 };
        Assert.AreEqual("3 40 %, 2 30 %, 1 20 %, …", SpeculativeBench.Choices(rounds));
    }
}
