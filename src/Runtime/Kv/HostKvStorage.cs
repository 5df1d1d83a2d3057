using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Condensa.Runtime.Kv;

/// <summary>KV tensors in pinned host arrays (the CPU provider reads and writes them in place); edits are memcpys.</summary>
internal sealed class HostKvStorage : KvStorage
{
    private readonly PinnedBuffer?[] _buffers;
    private readonly OrtValue?[] _values;

    public HostKvStorage(ModelManifest manifest, int tensors, int rows, int slots) : base(manifest, tensors, rows, slots)
    {
        _buffers = new PinnedBuffer?[tensors];
        _values = new OrtValue?[tensors];
        Allocate(slots, exact: true);
    }

    public override bool OnDevice => false;

    public override OrtValue Value(int tensor) => _values[tensor]!;

    protected override nint Address(int tensor) => _buffers[tensor]!.Address;

    protected override OrtMemoryInfo MemoryInfo => OrtMemoryInfo.DefaultInstance;

    /// <summary>The tensor's bytes, [rows, kvHeads, slots, headDim].</summary>
    public Span<byte> Bytes(int tensor) => _buffers[tensor]!.Bytes[..(int)TensorBytes(Slots)];

    public override void Copy(KvStorage source, KvMoves moves)
    {
        if (source is not HostKvStorage host)
            throw new InvalidOperationException("a host KV cache cannot read entries held in device memory");
        if (host.Manifest.KvType != Manifest.KvType)
        {
            CopyConverting(host, moves);
            return;
        }
        var entry = EntryBytes;
        var heads = Manifest.NumKvHeads;
        foreach (var run in moves.Runs)
        for (var t = 0; t < Tensors; t++)
        {
            var from = host.Bytes(t);
            var to = Bytes(t);
            var n = run.Count * entry;
            for (var h = 0; h < heads; h++)
            {
                var src = (((long)run.SourceRow * heads + h) * host.Slots + run.From) * entry;
                var dst = (((long)run.Row * heads + h) * Slots + run.To) * entry;
                // Span.CopyTo is a memmove, so a compaction within one row may overlap itself.
                from.Slice((int)src, n).CopyTo(to.Slice((int)dst, n));
            }
        }
    }

    // float32 entries into this storage's half-precision ones (KvConversion); two storages, so no overlap
    private void CopyConverting(HostKvStorage source, KvMoves moves)
    {
        System.Diagnostics.Debug.Assert(KvConversion.Converts(source.Manifest.KvType, Manifest.KvType), "KvCache checks a copy's types");
        var (dim, heads) = (Manifest.HeadDim, Manifest.NumKvHeads);
        var elementBytes = Manifest.KvType.SizeInBytes();
        foreach (var run in moves.Runs)
        for (var t = 0; t < Tensors; t++)
        {
            var from = MemoryMarshal.Cast<byte, float>(source.Bytes(t));
            var to = Bytes(t);
            for (var h = 0; h < heads; h++)
            {
                var src = (((long)run.SourceRow * heads + h) * source.Slots + run.From) * dim;
                var dst = (((long)run.Row * heads + h) * Slots + run.To) * dim;
                KvConversion.FromFloat(from.Slice((int)src, run.Count * dim), to.Slice((int)dst * elementBytes, run.Count * dim * elementBytes),
                    Manifest.KvType);
            }
        }
    }

    public override void CopyTensor(int tensor, KvStorage source, int sourceTensor) =>
        ((HostKvStorage)source).Bytes(sourceTensor).CopyTo(Bytes(tensor));

    public override void Zero()
    {
        for (var t = 0; t < Tensors; t++) Bytes(t).Clear();
    }

    public override void Reshape(int slots)
    {
        if (slots == Slots) return;
        Allocate(slots, exact: false);
    }

    public override byte[] Read(int tensor) => Bytes(tensor).ToArray();

    public override void Dispose()
    {
        DropViews();
        foreach (var value in _values) value?.Dispose();
    }

    // Exact for a cache's buffers (its capacity is already chunked); with headroom for a pass's outputs, which follow
    // the chunk length, so that a prefill of growing chunks reallocates only a logarithmic number of times.
    private void Allocate(int slots, bool exact)
    {
        DropViews();
        Slots = slots;
        var bytes = TensorBytes(slots);
        var type = ElementType;
        for (var t = 0; t < Tensors; t++)
        {
            _buffers[t] = exact ? new PinnedBuffer(bytes) : PinnedBuffer.Ensure(_buffers[t], bytes);
            _values[t]?.Dispose();
            _values[t] = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, type, Shape(slots), _buffers[t]!.Address, bytes);
        }
    }
}
