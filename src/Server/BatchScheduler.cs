using Condensa.Runtime;
using Condensa.Runtime.Batching;
using Condensa.Runtime.Generation;

namespace Condensa.Server;

/// <summary>
/// Runs the one continuous batch every request shares: a dedicated thread drives
/// <see cref="ContinuousBatcher"/> over a <see cref="BatchQueue"/>; <see cref="Submit"/> adds a request from any
/// thread and hands back its token stream. The web layer never touches the model.
/// </summary>
public sealed class BatchScheduler : IDisposable
{
    private readonly BatchQueue _queue = new();
    private readonly Dictionary<long, Submission> _open = [];   // by request id; guarded by itself
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _thread;
    private readonly int _maxQueue;
    private long _nextId;

    /// <summary>Starts the batch thread over <paramref name="model"/>.</summary>
    public BatchScheduler(IDecoder model, int maxBatch, int maxQueue, ServerMetrics? metrics = null, IDecodeStep? step = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(maxQueue);
        MaxBatch = maxBatch;
        _maxQueue = maxQueue;
        Metrics = metrics ?? new ServerMetrics();
        var batcher = new ContinuousBatcher(model, step);
        _thread = new Thread(() => Loop(batcher)) { IsBackground = true, Name = "condensa-batch" };
        _thread.Start();
    }

    /// <summary>Rows of the batch.</summary>
    public int MaxBatch { get; }

    /// <summary>Requests waiting for a row.</summary>
    public int Queued => _queue.Count;

    /// <summary>Requests in a row or waiting for one.</summary>
    public int Open { get { lock (_open) return _open.Count; } }

    /// <summary>Counters for /metrics.</summary>
    public ServerMetrics Metrics { get; }

    /// <summary>
    /// Queues a request; null when the queue is full (the caller answers 429). Cancelling
    /// <paramref name="cancellationToken"/> (the client went away, or a stop string matched) ends it before the next
    /// pass and frees its row.
    /// </summary>
    public Submission? Submit(IReadOnlyList<int> prompt, GenerationOptions generation, CancellationToken cancellationToken)
    {
        var id = Interlocked.Increment(ref _nextId);
        var submission = new Submission(id, prompt.Count);
        lock (_open)
        {
            // open = in a row or waiting for one; counted here, not in the queue, which the batch thread drains as rows free
            if (_open.Count >= MaxBatch + _maxQueue) { Metrics.Rejected(); return null; }
            _open[id] = submission;
        }
        var request = new BatchRequest(id, prompt, generation, cancellationToken, submission.OnToken);
        if (!_queue.TryAdd(request))
        {
            lock (_open) _open.Remove(id);
            throw new ObjectDisposedException(nameof(BatchScheduler));
        }
        Metrics.Accepted();
        return submission;
    }

    private void Loop(ContinuousBatcher batcher)
    {
        try
        {
            // a long prompt comes in a chunk at a time, so the requests already answering keep streaming
            var options = new BatchOptions { BatchSize = MaxBatch, InterleavePrefill = true };
            foreach (var result in batcher.Run(_queue, options, cancellationToken: _stop.Token))
            {
                Submission? submission;
                lock (_open) _open.Remove(result.Id, out submission);
                Metrics.Finished(result.PromptTokens, result.FinishReason == FinishReason.Cancelled, result.DraftsProposed, result.DraftsAccepted);
                submission?.Complete(result, null);
            }
        }
        catch (Exception e)
        {
            // the model failed (or the server stops): every open request ends with the error rather than hanging
            List<Submission> open;
            lock (_open) { open = [.. _open.Values]; _open.Clear(); }
            foreach (var submission in open) submission.Complete(null, e);
        }
    }

    /// <summary>Stops taking requests, ends the batch and fails whatever is still open.</summary>
    public void Dispose()
    {
        _queue.Complete();
        _stop.Cancel();
        _thread.Join(TimeSpan.FromSeconds(10));
        _stop.Dispose();
    }
}
