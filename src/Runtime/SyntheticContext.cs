namespace Condensa.Runtime;

/// <summary>
/// Gives an empty cache a context of zero-valued KV without running a prefill, for benchmarks: a decode step's
/// cost depends on how many slots it attends to, not on what they hold, and a real prefill of batch x context
/// tokens would dominate a CPU benchmark (an LCKV prefill even more, at R passes per chunk).
/// </summary>
public static class SyntheticContext
{
    /// <summary>Sets every row of an empty <paramref name="cache"/> to <paramref name="length"/> cached tokens.</summary>
    public static void Fill(KvCache cache, int length)
    {
        ArgumentNullException.ThrowIfNull(cache);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (cache.Budget is not null) throw new ArgumentException("a budgeted cache has no synthetic context", nameof(cache));
        foreach (var row in cache.Lengths)
            if (row != 0) throw new ArgumentException("the cache is not empty", nameof(cache));
        cache.EnsureCapacity(length);
        var counts = new int[cache.BatchSize];
        Array.Fill(counts, length);
        cache.Advance(counts);
    }
}
