using Condensa.Cli.Bench;

namespace Condensa.Cli.Tests;

/// <summary><see cref="DecodeBound"/>: bytes per token and the bound's arithmetic.</summary>
[TestClass]
public sealed class BenchDecodeBoundTests
{
    [TestMethod]
    public void At_BatchOfFour_WeightsSharedKvPerRow()
    {
        var bound = DecodeBound.Of(weightBytesPerStep: 1000, batch: 4, kvSlotsRead: 10, kvBytesReadPerToken: 8).At(gigabytesPerSecond: 0.33, 500_000);

        Assert.AreEqual(80, bound.KvBytesReadPerRow);
        Assert.AreEqual(1000 / 4 + 80, bound.BytesPerToken);
        Assert.AreEqual(1e6, bound.TokensPerSecond!.Value, 1e-6);
        Assert.AreEqual(0.5, bound.OfBound!.Value, 1e-12);
    }

    [TestMethod]
    public void At_NoBandwidth_NoBound()
    {
        var bound = DecodeBound.Of(1000, 1, 10, 8).At(null, 5);

        Assert.IsNull(bound.TokensPerSecond);
        Assert.IsNull(bound.OfBound);
    }

    [TestMethod]
    public void At_MeasuredRanges_ShareSpansSlowestDecodeAtFastestPassToFastestDecodeAtSlowestPass()
    {
        // 1000 / 4 + 80 = 330 bytes per token: at 0.33 GB/s the bound is 1,000,000 tok/s
        var bandwidth = new Bandwidth(0.33, "measured", 1 << 20, 1, 5, Slowest: 0.30, Fastest: 0.36);
        var bound = DecodeBound.Of(weightBytesPerStep: 1000, batch: 4, kvSlotsRead: 10, kvBytesReadPerToken: 8)
            .At(bandwidth, decodeTokensPerSecond: 500_000, slowestDecode: 450_000, fastestDecode: 540_000);
        Assert.AreEqual(0.5, bound.OfBound!.Value, 1e-12);
        Assert.AreEqual(450_000 * 330 / 0.36e9, bound.OfBoundLow!.Value, 1e-12);
        Assert.AreEqual(540_000 * 330 / 0.30e9, bound.OfBoundHigh!.Value, 1e-12);

        // a given figure has no range of its own: the share's range is the decode runs'
        var given = DecodeBound.Of(1000, 4, 10, 8).At(Bandwidth.Given(0.33), 500_000, 450_000, 540_000);
        Assert.AreEqual(0.45, given.OfBoundLow!.Value, 1e-12);
        Assert.AreEqual(0.54, given.OfBoundHigh!.Value, 1e-12);
    }
}
