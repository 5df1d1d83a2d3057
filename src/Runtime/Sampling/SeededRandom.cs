namespace Condensa.Runtime.Sampling;

/// <summary>
/// Independent random streams from one sampling seed: the row's sampler, a drafter's draws and a verifier's draws each
/// take their own stream, so a seeded run is reproducible and its draws still behave as independent. System.Random seeded
/// with nearby integers starts nearby (its first draws for seeds s and s + 10 are close), so a stream is not seeded with
/// an offset of the seed but with both mixed by SplitMix64's finalizer (Steele, Lea and Flood, 2014).
/// </summary>
public static class SeededRandom
{
    /// <summary>The stream of a row's token sampler.</summary>
    public const int SamplerStream = 0;

    /// <summary>The stream of a drafter's draws.</summary>
    public const int DraftStream = 1;

    /// <summary>The stream of a speculative verifier's draws.</summary>
    public const int VerifyStream = 2;

    /// <summary>Stream <paramref name="stream"/> of <paramref name="seed"/>, or an unseeded generator without a seed.</summary>
    public static Random Create(int? seed, int stream) => seed is { } s ? new Random(Mix(s, stream)) : new Random();

    private static int Mix(int seed, int stream)
    {
        var z = ((ulong)(uint)seed << 32 | (uint)stream) + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return (int)((z ^ (z >> 31)) & int.MaxValue);
    }
}
