namespace Condensa.Runtime.Kv;

/// <summary>One run of a KV copy in one tensor: <see cref="Height"/> spans of <see cref="Width"/> bytes (one a head), each
/// side's spans <see cref="SourcePitch"/> / <see cref="DestinationPitch"/> bytes apart: what one strided device copy
/// (cudaMemcpy2D) moves.</summary>
internal readonly record struct KvSpan(nint Source, long SourcePitch, nint Destination, long DestinationPitch, long Width, int Height);

/// <summary>
/// A copy's runs as strided memory copies. A tensor is [rows, heads, slots, headDim], so a run's entries in one head are
/// contiguous, and its heads lie a row of slots apart: a run is one strided copy a tensor, whatever its length. Through
/// kv_write, whose index names every entry of every head, a row's move (PackRows) cost 4-4.5 ms at 7,680 tokens on the
/// H200 (docs/benchmarks.md, round 22).
/// </summary>
internal static class KvSpans
{
    /// <summary>
    /// Fills <paramref name="spans"/> (at least moves.Count × tensors long) with the copies of <paramref name="moves"/>
    /// from the tensors at <paramref name="sourceAddresses"/> ([sourceRows, heads, sourceSlots, ·] each) into those at
    /// <paramref name="destinationAddresses"/> ([·, heads, destinationSlots, ·]); returns how many, or -1 where a run
    /// cannot be a plain copy: an address unknown (0), or a run that overlaps itself in one storage (memcpy's order is
    /// undefined there). Runs that move nothing (same memory) are left out. Runs of consecutive rows at the same slots (a
    /// static batch's budgets, all rows at one length; rows moved whole) are one copy: a row's heads lie a row of slots
    /// apart, and so do the next row's first head and this row's last.
    /// </summary>
    public static int Plan(KvMoves moves, ReadOnlySpan<nint> sourceAddresses, int sourceSlots, ReadOnlySpan<nint> destinationAddresses,
        int destinationSlots, int heads, int entryBytes, Span<KvSpan> spans)
    {
        ArgumentNullException.ThrowIfNull(moves);
        if (sourceAddresses.Length != destinationAddresses.Length) throw new ArgumentException("the storages have different tensor counts");
        foreach (var address in sourceAddresses) if (address == 0) return -1;
        foreach (var address in destinationAddresses) if (address == 0) return -1;
        long sourcePitch = (long)sourceSlots * entryBytes, destinationPitch = (long)destinationSlots * entryBytes;
        var count = 0;
        for (var t = 0; t < sourceAddresses.Length; t++)
        {
            var sameStorage = sourceAddresses[t] == destinationAddresses[t];
            KvRun? last = null;                      // the run the last copy ended with, if it was the previous run
            foreach (var run in moves.Runs)
            {
                var source = sourceAddresses[t] + (nint)(((long)run.SourceRow * heads * sourceSlots + run.From) * entryBytes);
                var destination = destinationAddresses[t] + (nint)(((long)run.Row * heads * destinationSlots + run.To) * entryBytes);
                if (source == destination && sourcePitch == destinationPitch)
                {
                    last = null;
                    continue;
                }
                if (sameStorage && run.SourceRow == run.Row && run.From < run.To + run.Count && run.To < run.From + run.Count) return -1;
                if (last is { } previous && ContinuesByARow(previous, run) && Grown(spans[count - 1], heads, sameStorage) is { } grown)
                    spans[count - 1] = grown;
                else spans[count++] = new KvSpan(source, sourcePitch, destination, destinationPitch, (long)run.Count * entryBytes, heads);
                last = run;
            }
        }
        return count;
    }

    private static bool ContinuesByARow(KvRun previous, KvRun run) =>
        run.SourceRow == previous.SourceRow + 1 && run.Row == previous.Row + 1
        && run.From == previous.From && run.To == previous.To && run.Count == previous.Count;

    // The copy taking the next row's run too (its heads), or null where that copy would read what it writes in one storage.
    private static KvSpan? Grown(KvSpan span, int heads, bool sameStorage) =>
        span with { Height = span.Height + heads } is var grown && !(sameStorage && Overlap(grown)) ? grown : null;

    // Whether a copy's source and destination bytes meet (within one storage): its lines may go in any order.
    private static bool Overlap(KvSpan span) =>
        span.Source < span.Destination + End(span.DestinationPitch, span) && span.Destination < span.Source + End(span.SourcePitch, span);

    private static nint End(long pitch, KvSpan span) => (nint)((span.Height - 1) * pitch + span.Width);

    /// <summary>Does <paramref name="spans"/> in host memory (a CPU provider's device storage).</summary>
    public static unsafe void CopyOnHost(ReadOnlySpan<KvSpan> spans)
    {
        foreach (var span in spans)
            for (var h = 0; h < span.Height; h++)
                Buffer.MemoryCopy((void*)(span.Source + (nint)(h * span.SourcePitch)), (void*)(span.Destination + (nint)(h * span.DestinationPitch)),
                    span.Width, span.Width);
    }
}
