namespace Condensa.Runtime;

/// <summary>
/// The model as the generation loops see it: dimensions, caches, and one forward pass over new tokens. Speculative
/// decoding depends on this, never on ONNX Runtime types.
/// </summary>
public interface IDecoder
{
    /// <summary>Dimensions and special tokens.</summary>
    ModelManifest Manifest { get; }

    /// <summary>Creates KV buffers for a batch.</summary>
    KvCache CreateCache(int batchSize, KvCacheOptions? options = null);

    /// <summary>Runs new tokens through the model, appends their KV to the cache and returns the selected logits.</summary>
    ReadOnlySpan<float> Forward(KvCache cache, scoped in ForwardInputs inputs);

    /// <summary>Runs new tokens through the model like <see cref="Forward"/> and returns only each selected position's
    /// most likely token, [batch, k] (the first maximum on a tie): what greedy decoding with no logits processor needs.</summary>
    ReadOnlySpan<int> ForwardGreedy(KvCache cache, scoped in ForwardInputs inputs);

    /// <summary>The tokens per row a caller should pad a pass of <paramref name="tokens"/> to (padding is never committed):
    /// a model that replays a captured graph per pass length rounds up to a few lengths, since every new length is
    /// captured anew. Others run any length as it is.</summary>
    int PassLength(int tokens) => tokens;

    /// <summary>The most tokens per row a pass of several rows should carry: a model whose multi-row fast path is bounded
    /// runs longer ones on a slower one (<see cref="DecoderModel"/>'s multi-row causal graph). Others take any length.</summary>
    int LongestRowsPass => int.MaxValue;

    /// <summary>The most tokens per row of a pass the model replays as a captured graph; 0 where it captures none. On cuda a
    /// pass of a length the model has not run yet costs tens of milliseconds (a capture, or the causal graph's first run of
    /// that many tokens in one row), so a caller that feeds any number of tokens (a draft model's catch-up) feeds at most
    /// this many a pass, padded (<see cref="PassLength"/>): every pass then replays one of a few graphs.</summary>
    int LongestCapturedPass => 0;
}
