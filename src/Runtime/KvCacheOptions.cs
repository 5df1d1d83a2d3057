namespace Condensa.Runtime;

/// <summary>How a <see cref="KvCache"/> sizes its buffers.</summary>
public sealed record KvCacheOptions
{
    /// <summary>Slots the buffers grow by when a row outgrows them. Growing in chunks rather than allocating
    /// the model's whole context up front keeps a short chat small; 256 slots keep regrowth (a copy of the
    /// live entries) rare while wasting at most 255 slots of attention work per step.</summary>
    public int GrowthChunk { get; init; } = 256;

    /// <summary>Slots allocated at creation (rounded up to <see cref="GrowthChunk"/>); 0 = one chunk.</summary>
    public int InitialCapacity { get; init; }

    /// <summary>Upper bound on slots per row; null = the model's max context. The memory planner can lower it.</summary>
    public int? MaxContext { get; init; }

    /// <summary>When set, the cache keeps only sinks + a window of recent positions in a fixed number of slots
    /// (a self-speculation draft); positions are then no longer slot indices.</summary>
    public KvBudget? Budget { get; init; }
}
