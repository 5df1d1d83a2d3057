namespace Condensa.Runtime.Batching;

/// <summary>
/// A live source of <see cref="BatchRequest"/>s for ContinuousBatcher.Run over a queue:
/// any thread adds requests while the batch runs, and each joins at the batcher's next step. Unlike an
/// <see cref="IEnumerable{T}"/> source, an empty queue does not stall the rows already running: the batcher waits
/// on it only when the batch is idle. Thread-safe.
/// </summary>
public sealed class BatchQueue
{
    private readonly Queue<BatchRequest> _items = new();
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _signal = new(0);
    private bool _completed;

    /// <summary>Requests waiting for a row.</summary>
    public int Count { get { lock (_gate) return _items.Count; } }

    /// <summary>Adds a request; false once <see cref="Complete"/> was called.</summary>
    public bool TryAdd(BatchRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        lock (_gate)
        {
            if (_completed) return false;
            _items.Enqueue(request);
        }
        _signal.Release();
        return true;
    }

    /// <summary>No more requests: the batcher finishes the ones queued and running, then returns.</summary>
    public void Complete()
    {
        lock (_gate) _completed = true;
        _signal.Release();
    }

    /// <summary>
    /// The next request, or null. With <paramref name="wait"/> (the batch is idle) blocks until one arrives;
    /// <paramref name="ended"/> is true once the queue is completed and drained.
    /// </summary>
    internal BatchRequest? Take(bool wait, CancellationToken cancellationToken, out bool ended)
    {
        while (true)
        {
            lock (_gate)
            {
                if (_items.TryDequeue(out var request)) { ended = false; return request; }
                if (_completed) { ended = true; return null; }
            }
            if (!wait) { ended = false; return null; }
            _signal.Wait(cancellationToken);   // a release per add or completion: loop and look again
        }
    }
}
