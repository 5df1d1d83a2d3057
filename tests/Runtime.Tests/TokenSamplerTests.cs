using Condensa.Runtime.Sampling;

namespace Condensa.Runtime.Tests;

[TestClass]
public sealed class TokenSamplerTests
{
    private static readonly float[] Logits = [0.1f, 2.5f, -1f, 2.4f, 0f];

    [TestMethod]
    public void Sample_Greedy_ReturnsArgmax()
    {
        var sampler = new TokenSampler(SamplingOptions.Greedy, Logits.Length);
        Assert.AreEqual(1, sampler.Sample(Logits, []));
    }

    [TestMethod]
    public void Sample_GreedyWithRepetitionPenalty_AvoidsRepeatedToken()
    {
        var sampler = new TokenSampler(new SamplingOptions { RepetitionPenalty = 1.5f }, Logits.Length);
        Assert.AreEqual(3, sampler.Sample(Logits, [1]));
    }

    [TestMethod]
    public void Sample_SameSeed_SameSequence()
    {
        var options = new SamplingOptions { Temperature = 1f, Seed = 42 };
        var a = new TokenSampler(options, Logits.Length);
        var b = new TokenSampler(options, Logits.Length);
        var first = Enumerable.Range(0, 50).Select(_ => a.Sample(Logits, [])).ToArray();
        var second = Enumerable.Range(0, 50).Select(_ => b.Sample(Logits, [])).ToArray();
        CollectionAssert.AreEqual(first, second);
        Assert.IsTrue(first.Distinct().Count() > 1, "temperature 1 over close logits should not always pick one token");
    }

    [TestMethod]
    public void Sample_ManyDraws_MatchSoftmaxFrequencies()
    {
        // 40k draws: the standard error of each frequency is below 0.0025, so 0.01 is a 4-sigma band.
        var sampler = new TokenSampler(new SamplingOptions { Temperature = 1f, Seed = 7 }, Logits.Length);
        var counts = new int[Logits.Length];
        const int draws = 40_000;
        for (var i = 0; i < draws; i++) counts[sampler.Sample(Logits, [])]++;
        var expected = new float[Logits.Length];
        LogitsProcessors.Softmax(Logits, 1f, expected);
        for (var t = 0; t < Logits.Length; t++) Assert.AreEqual(expected[t], counts[t] / (double)draws, 0.01, $"token {t}");
    }

    [TestMethod]
    public void Distribution_TopK1_IsOneHotOnArgmax()
    {
        var sampler = new TokenSampler(new SamplingOptions { Temperature = 0.7f, TopK = 1 }, Logits.Length);
        var probs = new float[Logits.Length];
        sampler.Distribution(Logits, [], probs);
        CollectionAssert.AreEqual(new[] { 0f, 1f, 0f, 0f, 0f }, probs);
    }

    [TestMethod]
    [DataRow(-1f, 0, 1f, 0f, 1f, "Temperature")]
    [DataRow(1f, -1, 1f, 0f, 1f, "TopK")]
    [DataRow(1f, 0, 0f, 0f, 1f, "TopP")]
    [DataRow(1f, 0, 1f, 1f, 1f, "MinP")]
    [DataRow(1f, 0, 1f, 0f, 0f, "RepetitionPenalty")]
    public void Constructor_OutOfRange_NamesTheField(float t, int k, float p, float minP, float penalty, string field)
    {
        var options = new SamplingOptions { Temperature = t, TopK = k, TopP = p, MinP = minP, RepetitionPenalty = penalty };
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new TokenSampler(options, 5));
        Assert.AreEqual(field, e.ParamName);
    }
}
