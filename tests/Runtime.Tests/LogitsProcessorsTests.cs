using Condensa.Runtime.Sampling;

namespace Condensa.Runtime.Tests;

[TestClass]
public sealed class LogitsProcessorsTests
{
    [TestMethod]
    public void ApplyRepetitionPenalty_RepeatedToken_PenalisedOnceBySign()
    {
        float[] logits = [2f, -2f, 1f, 0.5f];
        var seen = new bool[4];
        LogitsProcessors.ApplyRepetitionPenalty(logits, [0, 1, 0, 0], 2f, seen);
        CollectionAssert.AreEqual(new[] { 1f, -4f, 1f, 0.5f }, logits);
        Assert.IsFalse(seen.Any(s => s), "scratch must be left cleared");
    }

    [TestMethod]
    public void TopK_KeepsKLargest_ZeroesRest()
    {
        float[] probs = [0.1f, 0.4f, 0.2f, 0.3f];
        LogitsProcessors.TopK(probs, 2, new int[4], new float[4]);
        CollectionAssert.AreEqual(new[] { 0f, 0.4f, 0f, 0.3f }, probs);
    }

    [TestMethod]
    [DataRow(0.5f, new[] { 0f, 0.5f, 0f, 0f })]
    [DataRow(0.6f, new[] { 0f, 0.5f, 0.3f, 0f })]
    [DataRow(0.8f, new[] { 0f, 0.5f, 0.3f, 0f })]
    [DataRow(0.85f, new[] { 0f, 0.5f, 0.3f, 0.15f })]
    [DataRow(0.01f, new[] { 0f, 0.5f, 0f, 0f })]
    public void TopP_KeepsSmallestSetReachingP(float p, float[] expected)
    {
        float[] probs = [0.05f, 0.5f, 0.3f, 0.15f];
        LogitsProcessors.TopP(probs, p, new int[4], new float[4]);
        CollectionAssert.AreEqual(expected, probs);
    }

    [TestMethod]
    public void MinP_DropsBelowFractionOfMax()
    {
        float[] probs = [0.05f, 0.5f, 0.3f, 0.15f];
        LogitsProcessors.MinP(probs, 0.4f);
        CollectionAssert.AreEqual(new[] { 0f, 0.5f, 0.3f, 0f }, probs);
    }

    [TestMethod]
    [DataRow(0.0, 1)]
    [DataRow(0.49, 1)]
    [DataRow(0.51, 3)]
    [DataRow(0.999999, 3)]
    public void Draw_InverseCdf_SkipsZeroMass(double u, int expected)
    {
        float[] probs = [0f, 0.5f, 0f, 0.5f];
        Assert.AreEqual(expected, LogitsProcessors.Draw(probs, u));
    }

    [TestMethod]
    public void Softmax_Temperature_SharpensDistribution()
    {
        float[] logits = [1f, 2f];
        var cold = new float[2];
        var warm = new float[2];
        LogitsProcessors.Softmax(logits, 0.5f, cold);
        LogitsProcessors.Softmax(logits, 2f, warm);
        Assert.AreEqual(1 / (1 + Math.Exp(2)), cold[0], 1e-6);
        Assert.AreEqual(1 / (1 + Math.Exp(0.5)), warm[0], 1e-6);
    }

    [TestMethod]
    public void Normalize_AllFiltered_Throws()
    {
        Assert.ThrowsExactly<InvalidOperationException>(() => LogitsProcessors.Normalize(new float[3]));
    }
}
