using Condensa.Cli.Bench;

namespace Condensa.Cli.Tests;

/// <summary><see cref="MemoryBandwidth"/>: the sum it streams is exact, and a measurement is a usable number.</summary>
[TestClass]
public sealed class BenchMemoryBandwidthTests
{
    [TestMethod]
    [DataRow(1)]
    [DataRow(2)]
    public void Measure_SmallBuffer_PositiveFiniteGigabytesPerSecond(int threads)
    {
        var bandwidth = MemoryBandwidth.Measure(bufferBytes: 1 << 20, threads, repeats: 3);

        Assert.AreEqual("measured", bandwidth.Source);
        Assert.IsTrue(bandwidth.GigabytesPerSecond is > 0 and < double.PositiveInfinity, $"{bandwidth.GigabytesPerSecond}");
        Assert.AreEqual(1L << 20, bandwidth.BufferBytes);
        Assert.AreEqual(threads, bandwidth.Threads);
        // the median lies within the passes' range
        Assert.IsTrue(bandwidth.Slowest <= bandwidth.GigabytesPerSecond && bandwidth.GigabytesPerSecond <= bandwidth.Fastest,
            $"{bandwidth.Slowest} <= {bandwidth.GigabytesPerSecond} <= {bandwidth.Fastest}");
        StringAssert.StartsWith(bandwidth.Describe(), "read bandwidth: ");
        StringAssert.Contains(bandwidth.Describe(), ", range ");
        StringAssert.EndsWith(bandwidth.Describe(), $"(1 MiB, {threads} thread{(threads == 1 ? "" : "s")}, median of 3 passes)");
    }

    [TestMethod]
    [DataRow(0)]
    [DataRow(3)]
    [DataRow(1000)]
    [DataRow(4099)]
    public void Sum_CountingValues_ExactIncludingTheTailPastWholeVectors(int length)
    {
        var values = Enumerable.Range(0, length).Select(i => (uint)i).ToArray();

        Assert.AreEqual((uint)((long)length * (length - 1) / 2), MemoryBandwidth.Sum(values));
    }

    [TestMethod]
    public void Sum_LargeValues_WrapModuloTwoToThe32()
    {
        var values = Enumerable.Repeat(uint.MaxValue, 100).ToArray();

        Assert.AreEqual(unchecked((uint)(100UL * uint.MaxValue)), MemoryBandwidth.Sum(values));
    }

    [TestMethod]
    public void Measure_BufferSmallerThanAVectorPerThread_ClearError()
    {
        var e = Assert.ThrowsExactly<ArgumentException>(() => MemoryBandwidth.Measure(bufferBytes: 8, threads: 4));
        StringAssert.Contains(e.Message, "--bandwidth-buffer");
    }
}
