using Condensa.Runtime.Kv;

namespace Condensa.Runtime.Tests;

/// <summary>A copy's runs as strided copies (<see cref="KvSpans"/>): the addresses and pitches of [rows, heads, slots, ·]
/// tensors, and the runs a plain copy must not take.</summary>
[TestClass]
public sealed class KvSpansTests
{
    private const int Heads = 3, EntryBytes = 8;

    [TestMethod]
    public void Plan_ARunIsOneStridedCopyATensor_AtItsRowsAndSlots()
    {
        // source [2 rows, 3 heads, 10 slots, ·] at 1000 and 5000; destination [·, 3 heads, 6 slots, ·] at 20000 and 30000
        var moves = new KvMoves().Clear();
        moves.Add(sourceRow: 1, from: 4, row: 0, to: 2, count: 3);
        var spans = new KvSpan[2];

        var count = KvSpans.Plan(moves, [1000, 5000], 10, [20000, 30000], 6, Heads, EntryBytes, spans);

        Assert.AreEqual(2, count);
        Assert.AreEqual(new KvSpan(1000 + (1 * Heads * 10 + 4) * EntryBytes, 10 * EntryBytes, 20000 + 2 * EntryBytes, 6 * EntryBytes,
            3 * EntryBytes, Heads), spans[0]);
        Assert.AreEqual(5000 + (1 * Heads * 10 + 4) * EntryBytes, spans[1].Source, "the second tensor from its own address");
        Assert.AreEqual(30000 + 2 * EntryBytes, spans[1].Destination);
    }

    [TestMethod]
    public void Plan_CopiesBytesAsTheEntriesMove()
    {
        // host memory: source rows of 4 slots, destination rows of 5; row 1 slots 1..2 -> row 0 slots 3..4, every head
        var source = Enumerable.Range(0, 2 * Heads * 4 * EntryBytes).Select(i => (byte)i).ToArray();
        var destination = new byte[1 * Heads * 5 * EntryBytes];
        var moves = new KvMoves().Clear();
        moves.Add(sourceRow: 1, from: 1, row: 0, to: 3, count: 2);
        var spans = new KvSpan[1];
        unsafe
        {
            fixed (byte* s = source, d = destination)
            {
                Assert.AreEqual(1, KvSpans.Plan(moves, [(nint)s], 4, [(nint)d], 5, Heads, EntryBytes, spans));
                KvSpans.CopyOnHost(spans);
            }
        }
        for (var h = 0; h < Heads; h++)
        for (var slot = 0; slot < 5; slot++)
        {
            var at = (h * 5 + slot) * EntryBytes;
            var expected = slot >= 3 ? source.AsSpan(((1 * Heads + h) * 4 + slot - 2) * EntryBytes, EntryBytes).ToArray() : new byte[EntryBytes];
            CollectionAssert.AreEqual(expected, destination.AsSpan(at, EntryBytes).ToArray(), $"head {h} slot {slot}");
        }
    }

    [TestMethod]
    public void Plan_ARunOverlappingItselfInOneStorage_IsNoPlainCopy()
    {
        var moves = new KvMoves().Clear();
        moves.Add(sourceRow: 0, from: 3, row: 0, to: 2, count: 3);   // slots 3..5 -> 2..4 of the same row
        Assert.AreEqual(-1, KvSpans.Plan(moves, [4096], 8, [4096], 8, Heads, EntryBytes, new KvSpan[1]));
        moves.Clear().Add(sourceRow: 0, from: 5, row: 0, to: 2, count: 3);   // 5..7 -> 2..4: apart
        Assert.AreEqual(1, KvSpans.Plan(moves, [4096], 8, [4096], 8, Heads, EntryBytes, new KvSpan[1]));
        moves.Clear().Add(sourceRow: 1, from: 3, row: 0, to: 2, count: 3);   // another row of the same storage
        Assert.AreEqual(1, KvSpans.Plan(moves, [4096], 8, [4096], 8, Heads, EntryBytes, new KvSpan[1]));
    }

    [TestMethod]
    public void Plan_AnUnknownAddressOrNothingToMove()
    {
        var moves = new KvMoves().Clear();
        moves.Add(sourceRow: 0, from: 1, row: 1, to: 1, count: 2);
        Assert.AreEqual(-1, KvSpans.Plan(moves, [4096, 0], 8, [8192, 9000], 8, Heads, EntryBytes, new KvSpan[2]), "a tensor of unknown address");
        moves.Clear().Add(sourceRow: 1, from: 1, row: 1, to: 1, count: 2);
        Assert.AreEqual(0, KvSpans.Plan(moves, [4096], 8, [4096], 8, Heads, EntryBytes, new KvSpan[1]), "entries onto themselves");
    }
}
