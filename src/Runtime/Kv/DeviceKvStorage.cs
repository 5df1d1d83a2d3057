using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Condensa.Runtime.Kv;

/// <summary>
/// KV tensors in device memory (<see cref="DeviceKvMemory"/>). An edit lists its entries as (row, head, slot) index
/// pairs in a small pinned host buffer, the only bytes that cross to the device, and runs kv_write once for every
/// tensor: ScatterND into the bound buffer, in place.
/// </summary>
internal sealed class DeviceKvStorage : KvStorage
{
    private readonly DeviceKvMemory _memory;
    private readonly OrtValue[] _values;
    private readonly IDisposable?[] _owners;
    private readonly nint[] _addresses;
    private readonly long[] _shape = new long[4];
    private OrtValue? _shapeValue;
    private readonly string[] _writeInputNames;
    private readonly string[] _writeOutputNames;
    private readonly OrtValue[] _writeInputs;
    private long[] _indices = [];                        // [from entries x 3 ++ to entries x 3], pinned
    private GCHandle _indicesHandle;
    private (OrtValue From, OrtValue To, int Entries)? _indexValues;

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

    public override OrtValue Value(int tensor) => _values[tensor];

    protected override nint Address(int tensor) => _addresses[tensor];

    protected override OrtMemoryInfo MemoryInfo => _memory.MemoryInfo;

    public override void Copy(KvStorage source, KvMoves moves)
    {
        if (moves.Entries == 0) return;
        var heads = Manifest.NumKvHeads;
        var entries = moves.Entries * heads;
        var (from, to) = IndexValues(entries);
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
        _memory.Write(_writeInputNames, _writeInputs, _writeOutputNames, _values);
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
        DropViews();
        for (var t = 0; t < Tensors; t++)
        {
            _values[t]?.Dispose();
            _owners[t]?.Dispose();
        }
        _shapeValue?.Dispose();
        DisposeIndexValues();
        if (_indicesHandle.IsAllocated) _indicesHandle.Free();
    }

    private void Allocate(int slots)
    {
        DropViews();
        Slots = slots;
        for (var t = 0; t < Tensors; t++)
        {
            _values[t]?.Dispose();
            _owners[t]?.Dispose();
            (_values[t], _owners[t], _addresses[t]) = _memory.CreateTensor(ElementType, Shape(slots));
        }
    }

    // The from/to index tensors over the pinned buffer, rebuilt only when the entry count changes (decode keeps it).
    private (OrtValue From, OrtValue To) IndexValues(int entries)
    {
        if (_indexValues is { } cached && cached.Entries == entries) return (cached.From, cached.To);
        DisposeIndexValues();
        if (_indices.Length < 6 * entries)
        {
            if (_indicesHandle.IsAllocated) _indicesHandle.Free();
            _indices = new long[Math.Max(6 * entries, 96) * 2];
            _indicesHandle = GCHandle.Alloc(_indices, GCHandleType.Pinned);
        }
        var address = _indicesHandle.AddrOfPinnedObject();
        var bytes = 3L * 8 * entries;
        var from = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Int64, [entries, 3], address, bytes);
        var to = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Int64, [entries, 3], address + (nint)bytes, bytes);
        _indexValues = (from, to, entries);
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
