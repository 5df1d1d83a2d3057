using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using System.Runtime.InteropServices;

namespace Condensa.Cli.Bench;

/// <summary>The bandwidth a bound is computed from, and where it came from.</summary>
/// <param name="GigabytesPerSecond">10^9 bytes per second (measured: the median of the passes), or null without a
/// bandwidth (--no-bandwidth).</param>
/// <param name="Source">"measured", "given" (--bandwidth) or "none".</param>
/// <param name="BufferBytes">Size of the buffer read (measured only).</param>
/// <param name="Threads">Threads that read it, each its own contiguous part (measured only).</param>
/// <param name="Repeats">Passes over the buffer (measured only).</param>
/// <param name="Slowest">The slowest pass (measured only): with <paramref name="Fastest"/>, the spread the bound inherits.</param>
/// <param name="Fastest">The fastest pass (measured only).</param>
internal sealed record Bandwidth(double? GigabytesPerSecond, string Source, long? BufferBytes = null, int? Threads = null, int? Repeats = null,
    double? Slowest = null, double? Fastest = null)
{
    /// <summary>No bandwidth: the bound columns stay empty.</summary>
    public static readonly Bandwidth None = new(null, "none");

    /// <summary>A known figure, e.g. a GPU's HBM bandwidth (the measured one is host memory).</summary>
    public static Bandwidth Given(double gigabytesPerSecond) => new(gigabytesPerSecond, "given");

    /// <summary>The line printed above the table.</summary>
    public string Describe() => Source switch
    {
        "measured" => string.Create(CultureInfo.InvariantCulture,
            $"read bandwidth: {GigabytesPerSecond:F1} GB/s, range {Slowest:F1}-{Fastest:F1} ({MemoryBandwidth.Size(BufferBytes!.Value)}, {Threads} thread{(Threads == 1 ? "" : "s")}, median of {Repeats} passes)"),
        "given" => string.Create(CultureInfo.InvariantCulture, $"read bandwidth: {GigabytesPerSecond:F1} GB/s (given by --bandwidth)"),
        _ => "read bandwidth: not measured (--no-bandwidth), so no bound",
    };
}

/// <summary>
/// Host memory read bandwidth, as a decode step needs it: a pinned buffer much larger than the last-level cache,
/// summed with SIMD loads by <c>threads</c> threads at once, each over its own contiguous part. The median of several
/// passes counts, with their range beside it: one process's fastest pass swung 31-60 GB/s from run to run on a quiet
/// 2-core VM, and a bound computed from it moved the "of bound" share as much; the median is steadier, and the range
/// says how far to trust it.
/// </summary>
internal static class MemoryBandwidth
{
    /// <summary>Default buffer: 1 GiB, far past any last-level cache (tens of MiB), so every pass streams from DRAM.</summary>
    public const long DefaultBufferBytes = 1L << 30;

    /// <summary>Default passes over the buffer.</summary>
    public const int DefaultRepeats = 7;

    // Every element holds this, so a thread's sum (mod 2^32) is known in advance: checking it consumes the sum (the
    // JIT cannot drop the loads) and shows that every element was read.
    private const uint Fill = 1;

    /// <summary>Measures the read bandwidth of a <paramref name="bufferBytes"/> buffer on <paramref name="threads"/> threads.</summary>
    public static Bandwidth Measure(long bufferBytes = DefaultBufferBytes, int threads = 1, int repeats = DefaultRepeats)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(repeats, 1);
        // 1) whole vectors per thread, so every part is one span of full-width loads
        var partVectors = bufferBytes / Vector<byte>.Count / threads;
        if (partVectors < 1) throw new ArgumentException($"--bandwidth-buffer {bufferBytes} B is too small for {threads} threads.");
        var partLength = partVectors * Vector<uint>.Count;                   // elements per thread
        if (partLength > Array.MaxLength) throw new ArgumentException($"--bandwidth-buffer {Size(bufferBytes)} is too large for {threads} threads.");
        var parts = Enumerable.Range(0, threads).Select(_ => GC.AllocateUninitializedArray<uint>((int)partLength, pinned: true)).ToArray();
        var sums = new uint[threads];
        var began = new long[threads];
        var ended = new long[threads];
        var rates = new double[repeats];
        using var start = new Barrier(threads + 1);
        using var end = new Barrier(threads + 1);
        // 2) each thread writes its own part first (no page is still the kernel's shared zero page when timed, and
        //    on a NUMA host each part lies near the thread that reads it), then sums it once per pass
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            parts[t].AsSpan().Fill(Fill);
            for (var pass = 0; pass < repeats; pass++)
            {
                start.SignalAndWait();
                began[t] = Stopwatch.GetTimestamp();
                sums[t] = Sum(parts[t]);
                ended[t] = Stopwatch.GetTimestamp();
                end.SignalAndWait();
            }
        }) { IsBackground = true, Name = $"bandwidth {t}" }).ToArray();
        foreach (var worker in workers) worker.Start();
        // 3) a pass lasts from the first thread's start to the last one's end; the workers take their own times,
        //    since this thread may not run again before they finish when they hold every core
        for (var pass = 0; pass < repeats; pass++)
        {
            start.SignalAndWait();
            end.SignalAndWait();
            var elapsed = Stopwatch.GetElapsedTime(began.Min(), ended.Max());
            rates[pass] = partLength * sizeof(uint) * threads / elapsed.TotalSeconds / 1e9;
            foreach (var sum in sums)
                if (sum != unchecked((uint)(partLength * Fill))) throw new InvalidOperationException($"a bandwidth pass summed {sum}, not {partLength} x {Fill}");
        }
        foreach (var worker in workers) worker.Join();
        Array.Sort(rates);
        var median = repeats % 2 == 1 ? rates[repeats / 2] : (rates[repeats / 2 - 1] + rates[repeats / 2]) / 2;
        return new Bandwidth(median, "measured", partLength * sizeof(uint) * threads, threads, repeats, rates[0], rates[^1]);
    }

    /// <summary>Sum of the elements modulo 2^32, read with full-width vector loads into four independent
    /// accumulators (one would wait on each add's latency; four keep the load ports busy). The loads index a ref
    /// without bounds checks: 10-20 % faster here than span indexing, and this loop is the measurement.</summary>
    public static uint Sum(ReadOnlySpan<uint> values)
    {
        ref var start = ref MemoryMarshal.GetReference(values);
        var width = (nuint)Vector<uint>.Count;
        var length = (nuint)values.Length;
        Vector<uint> a = default, b = default, c = default, d = default;
        nuint i = 0;
        for (; i + 4 * width <= length; i += 4 * width)
        {
            a += Vector.LoadUnsafe(ref start, i);
            b += Vector.LoadUnsafe(ref start, i + width);
            c += Vector.LoadUnsafe(ref start, i + 2 * width);
            d += Vector.LoadUnsafe(ref start, i + 3 * width);
        }
        var total = Vector.Sum(a + b + c + d);
        for (; i < length; i++) total += values[(int)i];
        return total;
    }

    /// <summary>"1 GiB", "64 MiB" or bytes.</summary>
    public static string Size(long bytes) => bytes switch
    {
        _ when bytes % (1L << 30) == 0 => $"{bytes >> 30} GiB",
        _ when bytes % (1L << 20) == 0 => $"{bytes >> 20} MiB",
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes:N0} B"),
    };
}
