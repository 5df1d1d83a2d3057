namespace Condensa.Runtime.Kv;

/// <summary>Entries From..From+Count-1 of a source row go to slots To..To+Count-1 of a destination row, in every head
/// of every KV tensor.</summary>
internal readonly record struct KvRun(int SourceRow, int From, int Row, int To, int Count);

/// <summary>
/// The entry copies of one cache edit (append, tree compaction, regrowth, a copy between caches), listed before they
/// run so that host memory does them as memcpys and device memory in one graph run. Reused across steps: clearing
/// keeps the array, so steady decoding allocates nothing here.
/// </summary>
internal sealed class KvMoves
{
    private KvRun[] _runs = new KvRun[16];

    public int Count { get; private set; }

    public ReadOnlySpan<KvRun> Runs => _runs.AsSpan(0, Count);

    /// <summary>Entries moved per head (the sum of the runs' counts).</summary>
    public int Entries { get; private set; }

    public KvMoves Clear()
    {
        Count = 0;
        Entries = 0;
        return this;
    }

    public void Add(int sourceRow, int from, int row, int to, int count)
    {
        if (count <= 0) return;
        // Extend the last run when this one continues it (a budgeted append of consecutive slots, say).
        if (Count > 0 && _runs[Count - 1] is var last && last.SourceRow == sourceRow && last.Row == row &&
            last.From + last.Count == from && last.To + last.Count == to)
        {
            _runs[Count - 1] = last with { Count = last.Count + count };
        }
        else
        {
            if (Count == _runs.Length) Array.Resize(ref _runs, 2 * Count);
            _runs[Count++] = new KvRun(sourceRow, from, row, to, count);
        }
        Entries += count;
    }
}
