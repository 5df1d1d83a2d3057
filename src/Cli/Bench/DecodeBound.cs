namespace Condensa.Cli.Bench;

/// <summary>
/// The memory-bandwidth bound of a decode row. A step of a batch of B rows reads the weights once for all B tokens
/// and each row's KV cache: every slot the cache hands the graph (its capacity, not only the filled context: the
/// attention scores all of them and masks the empty ones). So a token costs
/// <c>weights / B + KV slots × KV bytes read per slot</c>, and no decoder can beat bandwidth / that. Every layer reads a
/// slot's KV of the layer it attends to, so a layer-condensed model's slot costs the standard model's bytes
/// (<see cref="ModelManifest.KvBytesReadPerToken"/>), not the fewer it stores.
/// </summary>
/// <param name="WeightBytesPerStep">Weights a step streams (<see cref="StepWeights.StreamedBytes"/>).</param>
/// <param name="KvSlotsRead">Slots of each row's cache the step reads.</param>
/// <param name="KvBytesReadPerRow">KvSlotsRead × KV bytes read per token.</param>
/// <param name="BytesPerToken">WeightBytesPerStep / batch + KvBytesReadPerRow.</param>
/// <param name="TokensPerSecond">Bandwidth / BytesPerToken, or null without a bandwidth.</param>
/// <param name="OfBound">Measured decode tokens/s / TokensPerSecond (a fraction), or null.</param>
/// <param name="OfBoundLow">The share at the fastest bandwidth pass and the slowest decode run, or null without a range.</param>
/// <param name="OfBoundHigh">The share at the slowest bandwidth pass and the fastest decode run, or null without a range.</param>
internal sealed record DecodeBound(long WeightBytesPerStep, int KvSlotsRead, long KvBytesReadPerRow, double BytesPerToken,
    double? TokensPerSecond, double? OfBound, double? OfBoundLow = null, double? OfBoundHigh = null)
{
    /// <summary>The bytes a token of a row costs, before any bandwidth is known.</summary>
    public static DecodeBound Of(long weightBytesPerStep, int batch, int kvSlotsRead, long kvBytesReadPerToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        var kvPerRow = kvSlotsRead * kvBytesReadPerToken;
        return new DecodeBound(weightBytesPerStep, kvSlotsRead, kvPerRow, (double)weightBytesPerStep / batch + kvPerRow, null, null);
    }

    /// <summary>The bound at <paramref name="gigabytesPerSecond"/> (none when null), and the share of it that
    /// <paramref name="decodeTokensPerSecond"/> reaches.</summary>
    public DecodeBound At(double? gigabytesPerSecond, double decodeTokensPerSecond)
    {
        var bound = gigabytesPerSecond * 1e9 / BytesPerToken;
        return this with { TokensPerSecond = bound, OfBound = decodeTokensPerSecond / bound };
    }

    /// <summary>As <see cref="At(double?, double)"/> for a measured bandwidth and decode figure that come with ranges: the
    /// share's range spans both (slowest decode against the fastest pass, fastest decode against the slowest one).</summary>
    public DecodeBound At(Bandwidth bandwidth, double decodeTokensPerSecond, double slowestDecode, double fastestDecode)
    {
        var at = At(bandwidth.GigabytesPerSecond, decodeTokensPerSecond);
        if (bandwidth.GigabytesPerSecond is not { } gbps) return at;
        double slow = bandwidth.Slowest ?? gbps, fast = bandwidth.Fastest ?? gbps;   // a given figure has no range of its own
        return at with { OfBoundLow = slowestDecode * BytesPerToken / (fast * 1e9), OfBoundHigh = fastestDecode * BytesPerToken / (slow * 1e9) };
    }
}
