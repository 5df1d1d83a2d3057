using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Condensa.Runtime.Kv;

/// <summary>
/// KV tensors in device memory (<see cref="DeviceKvMemory"/>). Where the tensors are plain addresses (CUDA; the CPU
/// provider in tests), a copy of few runs, or of more entries than kv_write_entries takes where that costs less than
/// kv_write, goes as strided memory copies, one a run (or a block of rows at the same slots) and tensor
/// (<see cref="KvSpans"/>). Otherwise an edit lists its entries as indices in a small pinned host buffer, the only bytes
/// that cross to the device: where the tensors lie in one buffer (<see cref="DeviceKvMemory.CreateBlock"/>)
/// and both sides of a copy are such buffers, a few entries move in one kv_write_entries run, two kernels for every layer;
/// otherwise (many entries, an older export, a provider whose tensors are not addresses) kv_write runs a gather and a
/// scatter a tensor, into the bound buffers, in place.
/// </summary>
internal sealed class DeviceKvStorage : KvStorage
{
    // A copy of up to this many (tensor, row, head, slot) entries goes through kv_write_entries: its index is 16 bytes an
    // entry of every tensor, kv_write's 48 an entry of all of them, so past this (1 MiB of indices: a regrowth, a row's move,
    // a long catch-up) the bytes cost more than kv_write's extra kernels.
    internal const int MaxEntriesWrite = 1 << 16;

    // A copy of up to this many strided copies goes so even where kv_write_entries would take it: each is one call (a few
    // µs on cuda), an uncaptured kv_write_entries run ~0.1-0.2 ms (round 22's profile). Wider copies of few entries (a
    // step's new entries of every row of a large batch, a budget's catch-up) stay one graph run.
    internal const int MaxSpanCopies = 64;

    // What the two ways of a copy past kv_write_entries' reach cost on cuda, to choose between them: a strided copy issued
    // among many (tools/device/cuda/span_copy_cost.py, docs/benchmarks.md round 23), and kv_write, a run plus its index of
    // every entry of every head (round 21: 4-4.5 ms a row's move of 7,680 entries of 16 heads, 2.2 ms of 4,096).
    internal const double SpanCopyMicroseconds = 6, KvWriteMicroseconds = 200, KvWriteMicrosecondsAnEntry = 0.035;

    private readonly DeviceKvMemory _memory;
    private readonly OrtValue[] _values;
    private readonly IDisposable?[] _owners;
    private readonly nint[] _addresses;
    private OrtValue? _entries;                          // the one buffer as [tensors x rows x heads x slots, head_dim]; null if none
    private readonly long[] _shape = new long[4];
    private OrtValue? _shapeValue;
    private readonly string[] _writeInputNames;
    private readonly string[] _writeOutputNames;
    private readonly OrtValue[] _writeInputs;
    private readonly OrtValue[] _entriesInputs = new OrtValue[4], _entriesOutput = new OrtValue[1];
    private long[] _indices = [];                        // [from ++ to], pinned: (row, head, slot) triples or entry indices
    private GCHandle _indicesHandle;
    private (OrtValue From, OrtValue To, int Count, int Width)? _indexValues;
    private KvSpan[] _spans = [];                        // a copy's strided copies, reused

    public DeviceKvStorage(DeviceKvMemory memory, ModelManifest manifest, int tensors, int rows, int slots) : base(manifest, tensors, rows, slots)
    {
        _memory = memory;
        _values = new OrtValue[tensors];
        _owners = new IDisposable?[tensors];
        _addresses = new nint[tensors];
        _writeInputNames = [KvOpsNames.WriteFrom, KvOpsNames.WriteTo,
            .. Enumerable.Range(0, tensors).SelectMany(i => new[] { KvOpsNames.WriteCache(i), KvOpsNames.WriteSource(i) })];
        _writeOutputNames = [.. Enumerable.Range(0, tensors).Select(KvOpsNames.WriteUpdated)];
        _writeInputs = new OrtValue[2 + 2 * tensors];
        Allocate(slots);
    }

    public override bool OnDevice => true;

    /// <summary>Copies made with kv_write_entries (tests tell the two writes apart by it).</summary>
    internal int EntriesWrites { get; private set; }

    public override OrtValue Value(int tensor) => _values[tensor];

    protected override nint Address(int tensor) => _addresses[tensor];

    protected override OrtMemoryInfo MemoryInfo => _memory.MemoryInfo;

    public override void Copy(KvStorage source, KvMoves moves)
    {
        if (moves.Entries == 0) return;
        if (source.Manifest.KvType != Manifest.KvType)
        {
            // float32 entries into a half-precision copy's budget (KvCache checked the types): only kv_write_from_float casts
            // (no memcpy, no entries view)
            System.Diagnostics.Debug.Assert(KvConversion.Converts(source.Manifest.KvType, Manifest.KvType), "KvCache checks a copy's types");
            CopyPerTensor(source, moves, fromFloat: true);
            return;
        }
        var other = source as DeviceKvStorage;
        var entriesWrite = _entries is not null && other?._entries is not null && WritesEntries(moves.Entries, Manifest.NumKvHeads, Tensors);
        if (_memory.CopiesSpans && other is not null && TryCopySpans(other, moves, entriesWrite)) return;
        if (entriesWrite) CopyEntries(other!, moves);
        else CopyPerTensor(source, moves);
    }

    /// <summary>Copies made as strided memory copies (tests tell the writes apart by it).</summary>
    internal int SpanCopies { get; private set; }

    /// <summary>Whether a copy of <paramref name="entries"/> entries a head goes as <paramref name="copies"/> strided copies
    /// rather than through a graph: if they are few (<see cref="MaxSpanCopies"/>), or, where kv_write_entries cannot take it,
    /// cost less than kv_write with its index of every entry (a row's move: one copy a tensor; a catch-up of every row of a
    /// large batch: one a row and tensor, which kv_write does in fewer µs).</summary>
    internal static bool SpansPay(int copies, long entries, int heads, bool entriesWrite) =>
        copies <= MaxSpanCopies
        || !entriesWrite && copies * SpanCopyMicroseconds < KvWriteMicroseconds + entries * heads * KvWriteMicrosecondsAnEntry;

    private bool TryCopySpans(DeviceKvStorage source, KvMoves moves, bool entriesWrite)
    {
        var needed = moves.Count * Tensors;
        if (_spans.Length < needed) _spans = new KvSpan[Math.Max(needed, 2 * _spans.Length)];
        var count = KvSpans.Plan(moves, source._addresses, source.Slots, _addresses, Slots, Manifest.NumKvHeads, EntryBytes, _spans);
        if (count < 0 || !SpansPay(count, moves.Entries, Manifest.NumKvHeads, entriesWrite)) return false;
        _memory.CopySpans(_spans.AsSpan(0, count));
        SpanCopies++;
        return true;
    }

    /// <summary>Whether a copy of <paramref name="entries"/> entries a head between storages of one buffer each goes through
    /// kv_write_entries (<see cref="MaxEntriesWrite"/>).</summary>
    internal static bool WritesEntries(long entries, int heads, int tensors) => entries * heads * tensors <= MaxEntriesWrite;

    // kv_write_entries: entry (t, row, head, slot) of a storage is row ((t·rows + row)·heads + head)·slots + slot of its buffer.
    private void CopyEntries(DeviceKvStorage source, KvMoves moves)
    {
        var heads = Manifest.NumKvHeads;
        var count = moves.Entries * heads * Tensors;
        var (from, to) = IndexValues(count, width: 1);
        var indices = _indices.AsSpan();
        var i = 0;
        for (var t = 0; t < Tensors; t++)
        foreach (var run in moves.Runs)
        for (var h = 0; h < heads; h++)
        {
            var sourceStart = (((long)t * source.Rows + run.SourceRow) * heads + h) * source.Slots + run.From;
            var start = (((long)t * Rows + run.Row) * heads + h) * Slots + run.To;
            for (var j = 0; j < run.Count; j++, i++)
            {
                indices[i] = sourceStart + j;
                indices[count + i] = start + j;
            }
        }
        (_entriesInputs[0], _entriesInputs[1], _entriesInputs[2], _entriesInputs[3]) = (from, to, _entries!, source._entries!);
        _entriesOutput[0] = _entries!;
        _memory.WriteEntries(_entriesInputs, _entriesOutput);
        EntriesWrites++;
    }

    private void CopyPerTensor(KvStorage source, KvMoves moves, bool fromFloat = false)
    {
        var heads = Manifest.NumKvHeads;
        var entries = moves.Entries * heads;
        var (from, to) = IndexValues(entries, width: 3);
        var indices = _indices.AsSpan();
        var i = 0;
        foreach (var run in moves.Runs)
        for (var h = 0; h < heads; h++)
        for (var j = 0; j < run.Count; j++, i++)
        {
            indices[3 * i] = run.SourceRow;
            indices[3 * i + 1] = h;
            indices[3 * i + 2] = run.From + j;
            var k = 3 * (entries + i);
            indices[k] = run.Row;
            indices[k + 1] = h;
            indices[k + 2] = run.To + j;
        }
        _writeInputs[0] = from;
        _writeInputs[1] = to;
        for (var t = 0; t < Tensors; t++)
        {
            _writeInputs[2 + 2 * t] = Value(t);
            _writeInputs[3 + 2 * t] = source.Value(t);
        }
        // The outputs are this storage's own buffers: ScatterND writes in place when output and input coincide.
        if (fromFloat) _memory.WriteFromFloat(_writeInputNames, _writeInputs, _writeOutputNames, _values);
        else _memory.Write(_writeInputNames, _writeInputs, _writeOutputNames, _values);
    }

    public override void CopyTensor(int tensor, KvStorage source, int sourceTensor) => _memory.Copy(source.Value(sourceTensor), Value(tensor));

    public override void Zero()
    {
        if (_shapeValue is null || _shape[2] != Slots)
        {
            Shape(Slots).CopyTo(_shape, 0);
            _shapeValue?.Dispose();
            _shapeValue = OrtValue.CreateTensorValueFromMemory(_shape, [4]);
        }
        for (var t = 0; t < Tensors; t++) _memory.Zero(_shapeValue, Value(t));
    }

    public override void Reshape(int slots)
    {
        if (slots == Slots) return;
        Allocate(slots);
    }

    public override byte[] Read(int tensor)
    {
        var bytes = GC.AllocateArray<byte>((int)TensorBytes(Slots), pinned: true);
        using var host = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, ElementType, Shape(Slots),
            Marshal.UnsafeAddrOfPinnedArrayElement(bytes, 0), bytes.Length);
        _memory.Copy(Value(tensor), host);
        return bytes;
    }

    public override void Dispose()
    {
        Release();
        _shapeValue?.Dispose();
        DisposeIndexValues();
        if (_indicesHandle.IsAllocated) _indicesHandle.Free();
    }

    private void Allocate(int slots)
    {
        Release();
        Slots = slots;
        if (_memory.CreateBlock(ElementType, Shape(slots), Tensors) is var (values, owner, address))
        {
            values.CopyTo(_values, 0);
            _owners[0] = owner;   // the buffer, disposed after the views over it
            for (var t = 0; t < Tensors; t++) _addresses[t] = address + (nint)(t * TensorBytes(slots));
            var entries = (long)Tensors * Rows * Manifest.NumKvHeads * slots;
            _entries = OrtValue.CreateTensorValueWithData(MemoryInfo, ElementType, [entries, Manifest.HeadDim], address, Tensors * TensorBytes(slots));
            return;
        }
        try
        {
            for (var t = 0; t < Tensors; t++) (_values[t], _owners[t], _addresses[t]) = _memory.CreateTensor(ElementType, Shape(slots));
        }
        catch
        {
            Release();   // device memory running out part way: the tensors allocated so far, now, not by their finalizers
            throw;
        }
    }

    // Disposes the views, then the tensors and what owns their memory.
    private void Release()
    {
        DropViews();
        _entries?.Dispose();
        _entries = null;
        for (var t = 0; t < Tensors; t++)
        {
            _values[t]?.Dispose();
            _values[t] = null!;
        }
        for (var t = 0; t < Tensors; t++)
        {
            _owners[t]?.Dispose();
            _owners[t] = null;
        }
    }

    // The from/to index tensors over the pinned buffer, [count, width] each, rebuilt only when their shape changes (decode
    // keeps it).
    private (OrtValue From, OrtValue To) IndexValues(int count, int width)
    {
        if (_indexValues is { } cached && cached.Count == count && cached.Width == width) return (cached.From, cached.To);
        DisposeIndexValues();
        if (_indices.Length < 2 * width * count)
        {
            if (_indicesHandle.IsAllocated) _indicesHandle.Free();
            _indices = new long[Math.Max(2 * width * count, 192) * 2];
            _indicesHandle = GCHandle.Alloc(_indices, GCHandleType.Pinned);
        }
        var address = _indicesHandle.AddrOfPinnedObject();
        var bytes = 8L * width * count;
        var from = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Int64, [count, width], address, bytes);
        var to = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Int64, [count, width], address + (nint)bytes, bytes);
        _indexValues = (from, to, count, width);
        return (from, to);
    }

    private void DisposeIndexValues()
    {
        if (_indexValues is not { } cached) return;
        cached.From.Dispose();
        cached.To.Dispose();
        _indexValues = null;
    }
}
