using System.Diagnostics;

namespace Condensa.Server;

/// <summary>Counters the scheduler updates and /metrics reports: throughput, queue length, batch occupancy. Thread-safe.</summary>
public sealed class ServerMetrics
{
    private readonly long _started = Stopwatch.GetTimestamp();
    private long _requests, _completed, _cancelled, _rejected, _promptTokens, _generatedTokens, _drafted, _draftsAccepted;

    internal void Accepted() => Interlocked.Increment(ref _requests);
    internal void Rejected() => Interlocked.Increment(ref _rejected);
    internal void Token() => Interlocked.Increment(ref _generatedTokens);
    internal void Finished(int promptTokens, bool cancelled, int drafted = 0, int draftsAccepted = 0)
    {
        Interlocked.Add(ref _promptTokens, promptTokens);
        Interlocked.Add(ref _drafted, drafted);
        Interlocked.Add(ref _draftsAccepted, draftsAccepted);
        Interlocked.Increment(ref cancelled ? ref _cancelled : ref _completed);
    }

    /// <summary>A snapshot; <paramref name="open"/>, <paramref name="queued"/> and <paramref name="rows"/> come from the scheduler.</summary>
    public MetricsSnapshot Snapshot(int open, int queued, int rows)
    {
        var seconds = Stopwatch.GetElapsedTime(_started).TotalSeconds;
        var generated = Interlocked.Read(ref _generatedTokens);
        return new MetricsSnapshot(Interlocked.Read(ref _requests), Interlocked.Read(ref _completed), Interlocked.Read(ref _cancelled),
            Interlocked.Read(ref _rejected), queued, Math.Clamp(open - queued, 0, rows), rows, Interlocked.Read(ref _promptTokens), generated,
            seconds > 0 ? generated / seconds : 0, seconds, Interlocked.Read(ref _drafted), Interlocked.Read(ref _draftsAccepted));
    }
}

/// <summary>What /metrics returns (snake_case JSON). Running counts the rows that hold a request; the drafts are those of
/// finished requests under speculation.</summary>
public sealed record MetricsSnapshot(long Requests, long Completed, long Cancelled, long Rejected, int Queued, int Running, int BatchRows,
    long PromptTokens, long GeneratedTokens, double GeneratedTokensPerSecond, double UptimeSeconds, long DraftsProposed = 0, long DraftsAccepted = 0)
{
    /// <summary>Drafted tokens the target accepted, over all drafted (0 without speculation).</summary>
    public double AcceptanceRate => DraftsProposed == 0 ? 0 : (double)DraftsAccepted / DraftsProposed;

    /// <summary>Running rows over all rows.</summary>
    public double BatchOccupancy => BatchRows == 0 ? 0 : (double)Running / BatchRows;
}
