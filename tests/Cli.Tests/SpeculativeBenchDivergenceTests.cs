using Condensa.Cli.Bench;

namespace Condensa.Cli.Tests;

/// <summary>What the speculative bench logs when a mode's tokens leave plain decoding's.</summary>
[TestClass]
public sealed class SpeculativeBenchDivergenceTests
{
    [TestMethod]
    public void Divergence_SameTokens_IsNull()
    {
        int[][] plain = [[1, 2, 3], [4, 5, 6]];
        Assert.IsNull(SpeculativeBench.Divergence(plain, plain));
    }

    [TestMethod]
    public void Divergence_CountsTheRowsThatDifferAndNamesTheEarliestToken()
    {
        int[][] plain = [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]];
        int[][] run = [[1, 2, 3, 0], [5, 6, 7, 8], [9, 0, 11, 12]];
        Assert.AreEqual("2 of 3 rows differ from plain decoding's tokens, the earliest at new token 1 (row 2)",
            SpeculativeBench.Divergence(run, plain)?.ToString());
    }

    [TestMethod]
    public void Divergence_AShorterRow_DiffersWhereItEnds()
    {
        int[][] plain = [[1, 2, 3]];
        int[][] run = [[1, 2]];
        Assert.AreEqual("1 of 1 rows differ from plain decoding's tokens, the earliest at new token 2 (row 0)",
            SpeculativeBench.Divergence(run, plain)?.ToString());
    }

    [TestMethod]
    public void Divergence_AMissingRow_Differs()
    {
        int[][] plain = [[1, 2], [3, 4]];
        int[][] run = [[1, 2]];
        Assert.AreEqual("1 of 2 rows differ from plain decoding's tokens, the earliest at new token 0 (row 1)",
            SpeculativeBench.Divergence(run, plain)?.ToString());
    }

    [TestMethod]
    public void Table_ARowThatDiffers_SaysHowManyRowsAndFromWhichToken()
    {
        var differs = new SpeculativeBenchRow("self", 8, 1024, 100, 0.5, 0.9, 2.7, 3, "γ 3", 1.5, 1.0, 8,
            new TokenDivergence(1, 8, 24, 3));
        var same = differs with { Mode = "lookup", Differs = null };
        var lines = SpeculativeBench.Table([differs, same]).Split(Environment.NewLine);
        StringAssert.EndsWith(lines[2], "| NO: 1 of 8 rows, from token 24 |");
        StringAssert.EndsWith(lines[3], "| yes |");
    }
}
