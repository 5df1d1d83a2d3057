using System.Diagnostics;

namespace Condensa.Server;

/// <summary>Counters the scheduler updates and /metrics reports: throughput, queue length, batch occupancy. Thread-safe.</summary>
public sealed class ServerMetrics
{
    private readonly long _started = Stopwatch.GetTimestamp();
    private long _requests, _completed, _cancelled, _rejected, _promptTokens, _generatedTokens;

    internal void Accepted() => Interlocked.Increment(ref _requests);
    internal void Rejected() => Interlocked.Increment(ref _rejected);
    internal void Token() => Interlocked.Increment(ref _generatedTokens);
    internal void Finished(int promptTokens, bool cancelled)
    {
        Interlocked.Add(ref _promptTokens, promptTokens);
        Interlocked.Increment(ref cancelled ? ref _cancelled : ref _completed);
    }

    /// <summary>A snapshot; <paramref name="open"/>, <paramref name="queued"/> and <paramref name="rows"/> come from the scheduler.</summary>
    public MetricsSnapshot Snapshot(int open, int queued, int rows)
    {
        var seconds = Stopwatch.GetElapsedTime(_started).TotalSeconds;
        var generated = Interlocked.Read(ref _generatedTokens);
        return new MetricsSnapshot(Interlocked.Read(ref _requests), Interlocked.Read(ref _completed), Interlocked.Read(ref _cancelled),
            Interlocked.Read(ref _rejected), queued, Math.Clamp(open - queued, 0, rows), rows, Interlocked.Read(ref _promptTokens), generated,
            seconds > 0 ? generated / seconds : 0, seconds);
    }
}

/// <summary>What /metrics returns (snake_case JSON). Running counts the rows that hold a request.</summary>
public sealed record MetricsSnapshot(long Requests, long Completed, long Cancelled, long Rejected, int Queued, int Running, int BatchRows,
    long PromptTokens, long GeneratedTokens, double GeneratedTokensPerSecond, double UptimeSeconds)
{
    /// <summary>Running rows over all rows.</summary>
    public double BatchOccupancy => BatchRows == 0 ? 0 : (double)Running / BatchRows;
}
