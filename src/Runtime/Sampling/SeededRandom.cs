namespace Condensa.Runtime.Sampling;

/// <summary>
/// Independent random streams from one sampling seed: the row's sampler, a drafter's draws and a verifier's draws each
/// take their own stream, so a seeded run is reproducible and its draws still behave as independent. System.Random's
/// first draw for seed s + k is its first draw for seed s shifted by an amount that depends on k alone (mod 1: 0.2242 for
/// k = 10 whatever s), so streams seeded s and s + k (or 31s + 7 and 31s + 17) draw in lockstep; a stream is seeded with
/// the seed and its id mixed by SplitMix64's finalizer (Steele, Lea and Flood, 2014) instead.
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
