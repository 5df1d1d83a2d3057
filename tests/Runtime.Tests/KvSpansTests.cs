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

    [TestMethod]
    public void Plan_RunsOfConsecutiveRowsAtTheSameSlots_AreOneCopy()
    {
        // rows 0..2 slots 1..2 -> rows 1..3 slots 0..1 of another storage: one copy of 3 rows x 3 heads a tensor; row 3 breaks it
        var moves = new KvMoves().Clear();
        for (var row = 0; row < 3; row++) moves.Add(sourceRow: row, from: 1, row: row + 1, to: 0, count: 2);
        moves.Add(sourceRow: 3, from: 2, row: 4, to: 0, count: 2);
        var spans = new KvSpan[8];

        var count = KvSpans.Plan(moves, [1000, 9000], 10, [50000, 90000], 6, Heads, EntryBytes, spans);

        Assert.AreEqual(4, count);
        Assert.AreEqual(new KvSpan(1000 + 1 * EntryBytes, 10 * EntryBytes, 50000 + 1 * Heads * 6 * EntryBytes, 6 * EntryBytes,
            2 * EntryBytes, 3 * Heads), spans[0]);
        Assert.AreEqual(Heads, spans[1].Height, "a run at other slots starts its own copy");
        Assert.AreEqual(9000 + 1 * EntryBytes, spans[2].Source, "the second tensor's copies start over");
        Assert.AreEqual(3 * Heads, spans[2].Height);
    }

    [TestMethod]
    public void Plan_ConsecutiveRowsInOneStorage_MergeOnlyWhereTheCopyCannotReadWhatItWrote()
    {
        // rows 1..2 -> rows 0..1 at the same slots of one storage: apart as runs, but merged the copy's lines would meet
        var moves = new KvMoves().Clear();
        moves.Add(sourceRow: 1, from: 0, row: 0, to: 0, count: 2);
        moves.Add(sourceRow: 2, from: 0, row: 1, to: 0, count: 2);
        Assert.AreEqual(2, KvSpans.Plan(moves, [4096], 8, [4096], 8, Heads, EntryBytes, new KvSpan[2]));
        // rows 4..5 -> rows 0..1: the blocks lie apart, one copy
        moves.Clear().Add(sourceRow: 4, from: 0, row: 0, to: 0, count: 2);
        moves.Add(sourceRow: 5, from: 0, row: 1, to: 0, count: 2);
        Assert.AreEqual(1, KvSpans.Plan(moves, [4096], 8, [4096], 8, Heads, EntryBytes, new KvSpan[2]));
    }

    [TestMethod]
    public void Plan_MergedRows_CopyTheBytesOfEachRow()
    {
        // host memory: rows 0..2 slots 2..3 of 4-slot rows -> rows 0..2 slots 0..1 of 5-slot rows, every head
        var source = Enumerable.Range(0, 3 * Heads * 4 * EntryBytes).Select(i => (byte)i).ToArray();
        var destination = new byte[3 * Heads * 5 * EntryBytes];
        var moves = new KvMoves().Clear();
        for (var row = 0; row < 3; row++) moves.Add(sourceRow: row, from: 2, row: row, to: 0, count: 2);
        var spans = new KvSpan[3];
        unsafe
        {
            fixed (byte* s = source, d = destination)
            {
                Assert.AreEqual(1, KvSpans.Plan(moves, [(nint)s], 4, [(nint)d], 5, Heads, EntryBytes, spans));
                KvSpans.CopyOnHost(spans);
            }
        }
        for (var row = 0; row < 3; row++)
        for (var h = 0; h < Heads; h++)
        for (var slot = 0; slot < 5; slot++)
        {
            var at = ((row * Heads + h) * 5 + slot) * EntryBytes;
            var expected = slot < 2 ? source.AsSpan(((row * Heads + h) * 4 + slot + 2) * EntryBytes, EntryBytes).ToArray() : new byte[EntryBytes];
            CollectionAssert.AreEqual(expected, destination.AsSpan(at, EntryBytes).ToArray(), $"row {row} head {h} slot {slot}");
        }
    }
}
