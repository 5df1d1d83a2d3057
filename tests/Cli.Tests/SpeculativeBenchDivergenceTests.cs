using Condensa.Cli.Bench;
using Condensa.Runtime;
using Condensa.Runtime.Generation;
using Condensa.TestSupport;

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
    public void TieMargins_RowsThatDiffer_TheLogitGapOfTheTwoTokensWhereEachFirstDiffers()
    {
        // row 0 leaves plain decoding's tokens at new token 3 for the runner-up there, row 1 matches, row 2 ends early: one
        // margin, plain's top logit less the runner-up's after the prompt and plain's first three tokens
        var (_, export) = TinyExports.Get("tie-margins", new TinyModelSpec { Architecture = "llama", Seed = 33 });
        using var model = DecoderModel.Load(export);
        int[][] prompts = [TinyExports.Ids(5, 61), TinyExports.Ids(4, 62), TinyExports.Ids(6, 63)];
        var plain = new Generator(model).GenerateBatch(prompts, new GenerationOptions { MaxNewTokens = 6 }).Select(r => r.Tokens.ToArray()).ToArray();
        int[] prefix = [.. prompts[0], .. plain[0][..3]];
        float[] logits;
        using (var cache = model.CreateCache(1)) logits = model.Forward(cache, prefix, [prefix.Length], LogitsSelection.LastPerRow).ToArray();
        var runnerUp = Enumerable.Range(0, logits.Length).Where(t => t != plain[0][3]).MaxBy(t => logits[t]);
        int[][] run = [[.. plain[0][..3], runnerUp, 0, 0], plain[1], plain[2][..2]];

        var margins = SpeculativeBench.TieMargins(model, prompts, run, plain);

        Assert.HasCount(1, margins);
        Assert.AreEqual(logits[plain[0][3]] - logits[runnerUp], margins[0].Gap, 1e-4);
        Assert.IsGreaterThan(0, margins[0].Gap, "plain decoding took the top token");
        Assert.AreEqual(Math.Max(Math.Abs(logits[plain[0][3]]), Math.Abs(logits[runnerUp])), margins[0].Magnitude, 1e-4);
    }

    [TestMethod]
    [DataRow(20.0, 1.0 / 64)]          // float16 between 16 and 32: 2^(4 - 10)
    [DataRow(5.0, 1.0 / 256)]          // between 4 and 8
    [DataRow(16.0, 1.0 / 64)]          // a power of two starts its binade
    [DataRow(-20.0, 1.0 / 64)]         // the sign does not matter
    [DataRow(0.0, 1.0 / (1 << 24))]    // zero and subnormals: the smallest normal's step, 2^(-14 - 10)
    public void Step_Float16_TheGapBetweenNeighbouringValues(double magnitude, double step) =>
        Assert.AreEqual(step, LogitSpacing.Step(magnitude, KvDataType.Float16));

    [TestMethod]
    public void Step_BFloat16AndFloat32()
    {
        Assert.AreEqual(1.0 / 8, LogitSpacing.Step(20, KvDataType.BFloat16));   // 2^(4 - 7)
        Assert.IsNull(LogitSpacing.Step(20, KvDataType.Float32));
    }

    [TestMethod]
    public void WithMargins_Float16_CountsEachMarginInStepsAtItsLogit()
    {
        // round 26's ties: 1/64 apart at logits near 20, 1/256 near 5, and an exact tie
        var divergence = SpeculativeBench.WithMargins(new TokenDivergence(3, 64, 34, 11),
            [new TieMargin(1.0 / 64, 20.5), new TieMargin(1.0 / 256, 5.2), new TieMargin(0, 9)], KvDataType.Float16);

        CollectionAssert.AreEqual(new[] { 1.0 / 64, 1.0 / 256, 0 }, divergence.Margins!.ToArray());
        CollectionAssert.AreEqual(new[] { 1.0, 1.0, 0 }, divergence.MarginSteps!.ToArray());
        Assert.AreEqual("NO: 3 of 64 rows, from token 34, logits ≤ 0.016 apart (≤ 1 float16 step)", divergence.Cell);
        StringAssert.EndsWith(divergence.ToString(), "lie 0-0.0156 apart, 0-1 float16 steps");
    }

    [TestMethod]
    public void WithMargins_AWideMargin_ReadsAsManySteps()
    {
        var divergence = SpeculativeBench.WithMargins(new TokenDivergence(1, 8, 3, 0), [new TieMargin(0.5, 20)], KvDataType.Float16);
        Assert.AreEqual("NO: 1 of 8 rows, from token 3, logits ≤ 0.5 apart (≤ 32 float16 steps)", divergence.Cell);
    }

    [TestMethod]
    public void WithMargins_Float32_NoSteps()
    {
        var divergence = SpeculativeBench.WithMargins(new TokenDivergence(1, 8, 3, 0), [new TieMargin(0.001, 20)], KvDataType.Float32);
        Assert.IsNull(divergence.MarginSteps);
        Assert.AreEqual("NO: 1 of 8 rows, from token 3, logits ≤ 0.001 apart", divergence.Cell);
    }

    [TestMethod]
    public void Table_ARowThatDiffersWithMargins_SaysTheWidest()
    {
        var row = new SpeculativeBenchRow("self", 8, 1024, 100, 0.5, 0.9, 2.7, 3, "γ 3", 1.5, 1.0, 8,
            new TokenDivergence(2, 8, 24, 3) { Margins = [0.0123, 0.0456] });
        StringAssert.EndsWith(SpeculativeBench.Table([row]).Split(Environment.NewLine)[2], "| NO: 2 of 8 rows, from token 24, logits ≤ 0.046 apart |");
        StringAssert.EndsWith(row.Differs!.ToString(), "lie 0.0123-0.0456 apart");
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
