namespace Condensa.Runtime;

/// <summary>
/// Sizes batch and context to a KV memory budget, for the model's own layout (condensed when only some layers
/// store KV) and for the standard layout of the same dimensions (every layer stores KV), so a layer-condensed
/// model's gain reads directly: the largest batch at a context, the largest context at a batch. Counts KV
/// buffers only (weights, activations and scratch are separate budgets), as the cache allocates them: a row's
/// capacity rounds up to the growth chunk.
/// </summary>
public sealed class MemoryPlanner
{
    private readonly ModelManifest _manifest;
    private readonly int _growthChunk;

    /// <summary>Plans for <paramref name="manifest"/>, with KV stored as <paramref name="kvType"/> (default: the model dtype).</summary>
    /// <param name="manifest">The model.</param>
    /// <param name="kvType">KV element type, to plan e.g. an fp16 cache for an fp32 export; null = the manifest's.</param>
    /// <param name="growthChunk">Slot granularity of the cache (<see cref="KvCacheOptions.GrowthChunk"/>); 1 = exact tokens.</param>
    public MemoryPlanner(ModelManifest manifest, KvDataType? kvType = null, int growthChunk = 1)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentOutOfRangeException.ThrowIfLessThan(growthChunk, 1);
        _manifest = manifest;
        _growthChunk = growthChunk;
        var bytes = (kvType ?? manifest.KvType).SizeInBytes();
        CondensedBytesPerToken = 2L * manifest.KvLayers.Length * manifest.NumKvHeads * manifest.HeadDim * bytes;
        StandardBytesPerToken = 2L * manifest.NumLayers * manifest.NumKvHeads * manifest.HeadDim * bytes;
    }

    /// <summary>KV bytes per token of the model as exported: 2 x stored layers x Hkv x D x dtype.</summary>
    public long CondensedBytesPerToken { get; }

    /// <summary>KV bytes per token if every layer stored its own KV: 2 x layers x Hkv x D x dtype.</summary>
    public long StandardBytesPerToken { get; }

    /// <summary>The most rows of <paramref name="context"/> tokens whose KV fits <paramref name="budgetBytes"/>.</summary>
    public int LargestBatch(long budgetBytes, int context, bool condensed = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(budgetBytes);
        ArgumentOutOfRangeException.ThrowIfLessThan(context, 1);
        var rowBytes = (long)RoundUp(context) * BytesPerToken(condensed);
        return (int)Math.Min(int.MaxValue, budgetBytes / rowBytes);
    }

    /// <summary>The longest context (at most the model's max_context) that <paramref name="batch"/> rows can each hold
    /// within <paramref name="budgetBytes"/>; 0 when not even one chunk fits.</summary>
    public int LargestContext(long budgetBytes, int batch, bool condensed = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(budgetBytes);
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        var tokens = budgetBytes / ((long)batch * BytesPerToken(condensed));
        tokens = tokens / _growthChunk * _growthChunk;   // capacity comes in whole chunks
        return (int)Math.Min(tokens, _manifest.MaxContext);
    }

    /// <summary>Both layouts' largest batch at <paramref name="context"/> and largest context at <paramref name="batch"/>.</summary>
    public MemoryPlan Plan(long budgetBytes, int context, int batch) => new(
        budgetBytes, context, batch,
        new KvLayoutPlan(CondensedBytesPerToken, LargestBatch(budgetBytes, context), LargestContext(budgetBytes, batch)),
        new KvLayoutPlan(StandardBytesPerToken, LargestBatch(budgetBytes, context, false), LargestContext(budgetBytes, batch, false)));

    private long BytesPerToken(bool condensed) => condensed ? CondensedBytesPerToken : StandardBytesPerToken;

    private int RoundUp(int context) => (int)Math.Min(int.MaxValue, ((long)context + _growthChunk - 1) / _growthChunk * _growthChunk);
}
