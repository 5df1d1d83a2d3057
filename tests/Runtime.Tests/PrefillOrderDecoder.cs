namespace Condensa.Runtime.Tests;

/// <summary>
/// Wraps a model and records which document each prefill starts, in order: a batcher prefills on a batch-1 side cache,
/// so a pass on an empty batch-1 cache is a document's first chunk, and its first token names the document when every
/// prompt starts with a distinct token.
/// </summary>
internal sealed class PrefillOrderDecoder(IDecoder inner) : IDecoder
{
    /// <summary>The first prompt token of each document whose prefill started, in order.</summary>
    public List<int> PrefillStarts { get; } = [];

    public ModelManifest Manifest => inner.Manifest;

    public KvCache CreateCache(int batchSize, KvCacheOptions? options = null) => inner.CreateCache(batchSize, options);

    public ReadOnlySpan<float> Forward(KvCache cache, scoped in ForwardInputs inputs)
    {
        if (cache.BatchSize == 1 && cache.Lengths[0] == 0) PrefillStarts.Add(inputs.Tokens[0]);
        return inner.Forward(cache, inputs);
    }

    public ReadOnlySpan<int> ForwardGreedy(KvCache cache, scoped in ForwardInputs inputs)
    {
        if (cache.BatchSize == 1 && cache.Lengths[0] == 0) PrefillStarts.Add(inputs.Tokens[0]);
        return inner.ForwardGreedy(cache, inputs);
    }
}
