using Condensa.TestSupport;

namespace Condensa.Export.Tests;

[TestClass]
public sealed class BlockQuantizerTests
{
    [TestMethod]
    [DataRow(4, 16, 48)]
    [DataRow(4, 32, 40)]   // K not a multiple of the block: the last block is padded
    [DataRow(8, 32, 64)]
    [DataRow(8, 16, 24)]
    public void Quantize_RandomWeights_BlockErrorWithinHalfAFullRangeStep(int bits, int blockSize, int k)
    {
        const int n = 5;
        var w = Random(n * k, seed: bits * 100 + k);
        var settings = new WeightQuantization(bits, blockSize);

        var q = BlockQuantizer.Quantize(w, n, k, settings);
        var back = MatMulNBitsReference.Dequantize(q.Codes, q.Scales, q.ZeroPoints, n, k, bits, blockSize);

        // The full-range grid keeps every weight within half a step; the range search may clip outliers, but only
        // where that lowers the block's squared error, so the block's RMS error stays within half a full-range step.
        for (int row = 0; row < n; row++)
            for (int start = 0; start < k; start += blockSize)
            {
                var block = Enumerable.Range(start, Math.Min(blockSize, k - start)).Select(c => row * k + c).ToArray();
                double lo = Math.Min(0, block.Min(i => w[i])), hi = Math.Max(0, block.Max(i => w[i]));
                double step = (hi - lo) / settings.MaxCode;
                double rms = Math.Sqrt(block.Average(i => Math.Pow(back[i] - w[i], 2)));
                Assert.IsGreaterThan(0, rms, "random weights are never exactly on the grid");
                Assert.IsLessThanOrEqualTo(step / 2 * 1.0001, rms, $"row {row}, block at {start}: rms {rms} vs half step {step / 2}");
                Assert.IsGreaterThan(step / 20, q.Scales[row * settings.BlocksPerRow(k) + start / blockSize], "scale near the full-range step");
            }
    }

    [TestMethod]
    public void Quantize_BlockWithZeros_ZeroIsExact()
    {
        var w = new float[32];
        w[3] = 0.7f; w[9] = -0.2f; w[20] = 0.35f;

        var q = BlockQuantizer.Quantize(w, 1, 32, new WeightQuantization(4, 32));
        var back = MatMulNBitsReference.Dequantize(q.Codes, q.Scales, q.ZeroPoints, 1, 32, 4, 32);

        for (int i = 0; i < 32; i++)
            if (w[i] == 0f) Assert.AreEqual(0f, back[i], $"w[{i}]");
        Assert.AreEqual(0.7f, back[3], 0.9f / 15);
    }

    [TestMethod]
    public void Quantize_ConstantZeroBlock_AllZeroWithoutNaN()
    {
        var q = BlockQuantizer.Quantize(new float[64], 2, 32, new WeightQuantization(4, 16));
        var back = MatMulNBitsReference.Dequantize(q.Codes, q.Scales, q.ZeroPoints, 2, 32, 4, 16);

        Assert.IsTrue(back.All(v => v == 0f));
    }

    [TestMethod]
    public void Quantize_Layout_FourBitCodesLowNibbleFirstAndShapes()
    {
        // One row, K = 32, blocks of 16: block 0 ramps 0..15 (lo = 0 -> zero point 0, scale 1), block 1 is -1 and 0 only.
        var w = new float[32];
        for (int i = 0; i < 16; i++) w[i] = i;
        for (int i = 16; i < 32; i++) w[i] = i % 2 == 0 ? -1f : 0f;

        var q = BlockQuantizer.Quantize(w, 1, 32, new WeightQuantization(4, 16));

        CollectionAssert.AreEqual(new long[] { 1, 2, 8 }, q.CodesShape);
        CollectionAssert.AreEqual(new long[] { 1, 2 }, q.ScalesShape);
        CollectionAssert.AreEqual(new long[] { 1, 1 }, q.ZeroPointsShape);
        Assert.AreEqual(0x10, q.Codes[0], "w[0] = 0 in the low nibble, w[1] = 1 in the high nibble");
        Assert.AreEqual(0xFE, q.Codes[7]);
        Assert.AreEqual(1f, q.Scales[0]);
        Assert.AreEqual(1f / 15, q.Scales[1], 1e-7f);
        Assert.AreEqual(0xF0, q.ZeroPoints[0], "block 0's zero point 0 low, block 1's 15 high");
        Assert.AreEqual(0xF0, q.Codes[8], "block 1: -1 -> code 0 (low), 0 -> code 15 (high)");
    }

    [TestMethod]
    [DataRow(3, 32)]
    [DataRow(4, 24)]
    [DataRow(4, 8)]
    public void Quantize_UnsupportedSettings_Throws(int bits, int blockSize) =>
        Assert.ThrowsExactly<ArgumentException>(() => BlockQuantizer.Quantize(new float[64], 2, 32, new WeightQuantization(bits, blockSize)));

    internal static float[] Random(int count, int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() * 2 - 1) * (random.Next(4) == 0 ? 3f : 1f))];
    }
}
