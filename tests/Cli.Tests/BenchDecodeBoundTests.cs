using Condensa.Cli.Bench;

namespace Condensa.Cli.Tests;

/// <summary><see cref="DecodeBound"/>: bytes per token and the bound's arithmetic.</summary>
[TestClass]
public sealed class BenchDecodeBoundTests
{
    [TestMethod]
    public void At_BatchOfFour_WeightsSharedKvPerRow()
    {
        var bound = DecodeBound.Of(weightBytesPerStep: 1000, batch: 4, kvSlotsRead: 10, kvBytesPerToken: 8).At(gigabytesPerSecond: 0.33, 500_000);

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
}
