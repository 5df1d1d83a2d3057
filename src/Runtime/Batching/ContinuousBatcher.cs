using Condensa.Runtime.Generation;

namespace Condensa.Runtime.Batching;

/// <summary>
/// Continuous batching over one KV cache of N rows, for a batch job or a server: the <see cref="DecodeLoop"/> over a
/// request stream or a live <see cref="BatchQueue"/>. Requests take free rows in arrival order, admitted documents are
/// prefilled oldest first, and a decode pass (<see cref="IDecodeStep"/>) runs only once no admitted document waits for its
/// prompt, so no row sits out a pass while work waits. Results stream out in completion order. Greedy output equals
/// one-at-a-time generation for every document. Knows token ids only.
/// </summary>
public sealed class ContinuousBatcher
{
    private readonly IDecoder _model;
    private readonly IDecodeStep _step;

    /// <summary>Creates a batcher; <paramref name="step"/> defaults to one token per row per pass.</summary>
    public ContinuousBatcher(IDecoder model, IDecodeStep? step = null)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        _step = step ?? new PlainDecodeStep();
    }

    /// <summary>
    /// Generates every request, pulling the next one from <paramref name="requests"/> only when a row frees up (so the
    /// input can be streamed). A request that cannot run (empty prompt, prompt + max tokens over the context) is
    /// answered at once with an error result and the job goes on.
    /// </summary>
    public IEnumerable<BatchResult> Run(IEnumerable<BatchRequest> requests, BatchOptions options, GenerationStats? stats = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return Iterate(requests, options, stats ?? new GenerationStats(), cancellationToken);
    }

    /// <summary>
    /// Serves a live <paramref name="requests"/> queue: requests added from any thread join the running batch at the
    /// next step, each with its own <see cref="BatchRequest.Generation"/> (else <paramref name="options"/>'s), and a
    /// cancelled request leaves at the next step, freeing its row. Waits while idle; returns once the queue is
    /// completed and every request answered. A request that cannot run is answered at once with an error result.
    /// </summary>
    public IEnumerable<BatchResult> Run(BatchQueue requests, BatchOptions options, GenerationStats? stats = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        BatchRequest? Take(bool idle, out bool ended) => requests.Take(idle, cancellationToken, out ended);
        return Iterate(Take, options, stats ?? new GenerationStats(), cancellationToken);
    }

    private IEnumerable<BatchResult> Iterate(IEnumerable<BatchRequest> requests, BatchOptions options, GenerationStats stats,
        CancellationToken cancellationToken)
    {
        using var queue = requests.GetEnumerator();
        BatchRequest? Take(bool idle, out bool ended)
        {
            ended = !queue.MoveNext();
            return ended ? null : queue.Current ?? throw new ArgumentException("requests holds a null entry", nameof(requests));
        }
        foreach (var result in Iterate(Take, options, stats, cancellationToken)) yield return result;
    }

    private IEnumerable<BatchResult> Iterate(DecodeLoop.RequestSource take, BatchOptions options, GenerationStats stats,
        CancellationToken cancellationToken)
    {
        using var cache = _model.CreateCache(options.BatchSize);
        using var loop = new DecodeLoop(_model, _step, cache, take, options.Generation, stats, interleavePrefill: options.InterleavePrefill,
            reserveMaxTokens: options.ReserveMaxTokens);
        foreach (var result in loop.Results(cancellationToken)) yield return result;
    }
}
