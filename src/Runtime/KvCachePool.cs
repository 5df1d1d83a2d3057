namespace Condensa.Runtime;

/// <summary>
/// The caches a model's callers have disposed, kept for the next <see cref="DecoderModel.CreateCache"/> of the same batch
/// size and options (or a capacity their buffers hold, <see cref="Fits"/>), which gets one back emptied instead of new
/// buffers. On cuda that is what keeps the CUDA graphs captured over a cache's buffers: a capture replays the addresses it was made with, so a new cache captures every pass
/// shape again, 2-27 ms each on the H200 against a 0.3-0.9 ms step (docs/benchmarks.md, rounds 12 and 13), and a
/// generation of a few hundred tokens paid one per shape it ran (decode, each verification length, a draft's steps).
/// Reused, a second generation at the same shape replays the first's graphs. At most <see cref="MaxIdle"/> caches wait,
/// and a request that none of them fits frees them all before the new buffers are allocated, so idle caches never hold
/// memory that a cache of another shape needs (<see cref="DecoderModel.ReleaseIdleCaches"/> frees them at any time).
/// </summary>
internal sealed class KvCachePool : IDisposable
{
    /// <summary>The most disposed caches kept: enough for one generation's set (the target's, a self-speculation budget's,
    /// continuous batching's side cache) twice over.</summary>
    public const int MaxIdle = 4;

    private readonly List<KvCache> _idle = [];   // oldest first
    private bool _disposed;

    /// <summary>An idle cache of <paramref name="batchSize"/> rows that fits <paramref name="options"/> (<see cref="Fits"/>),
    /// emptied; or null, having freed every idle cache, when none fits.</summary>
    public KvCache? Take(int batchSize, KvCacheOptions options)
    {
        lock (_idle)
        {
            var at = _idle.FindIndex(c => c.BatchSize == batchSize && Fits(c, options));
            if (at < 0)
            {
                ReleaseIdle();
                return null;
            }
            var cache = _idle[at];
            _idle.RemoveAt(at);
            cache.Clear();
            return cache;
        }
    }

    /// <summary>
    /// Whether a cache serves a request for <paramref name="options"/>: made with equal ones, or with ones that differ only in
    /// the initial capacity where its buffers already hold the capacity asked for, and at most twice it, so a generation's
    /// cache (sized for its longest prompt and token limit) serves the next of a similar length. Not a larger one: the
    /// general graph attends over every slot.
    /// </summary>
    internal static bool Fits(KvCache cache, KvCacheOptions options)
    {
        if (cache.Options == options) return true;
        if (cache.Options with { InitialCapacity = options.InitialCapacity } != options) return false;
        var wanted = cache.InitialCapacityFor(options);
        return cache.Capacity >= wanted && cache.Capacity <= 2 * wanted;
    }

    /// <summary>Keeps a disposed cache for reuse; false when the pool is closed or the cache already freed, and it should be
    /// freed now. A cache disposed twice is kept once.</summary>
    public bool Return(KvCache cache)
    {
        lock (_idle)
        {
            if (_disposed || cache.Released) return false;
            if (_idle.Contains(cache)) return true;
            _idle.Add(cache);
            if (_idle.Count > MaxIdle)
            {
                _idle[0].Release();
                _idle.RemoveAt(0);
            }
            return true;
        }
    }

    /// <summary>Frees every idle cache.</summary>
    public void ReleaseIdle()
    {
        lock (_idle)
        {
            foreach (var cache in _idle) cache.Release();
            _idle.Clear();
        }
    }

    public void Dispose()
    {
        lock (_idle)
        {
            _disposed = true;
            ReleaseIdle();
        }
    }
}
