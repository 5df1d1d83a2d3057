using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Condensa.Runtime.Kv;

/// <summary>
/// A set of KV tensors of one layout, [rows, kvHeads, slots, headDim] each, in graph order (key, value per stored
/// layer, or per pending layer): a cache's buffers, or a pass's new entries. Host storage lives in pinned arrays,
/// device storage in the execution provider's memory; both hand ONNX Runtime the same OrtValues every pass.
/// </summary>
internal abstract class KvStorage : IDisposable
{
    protected KvStorage(ModelManifest manifest, int tensors, int rows, int slots)
    {
        Manifest = manifest;
        Tensors = tensors;
        Rows = rows;
        Slots = slots;
    }

    public ModelManifest Manifest { get; }

    /// <summary>Number of tensors (2 per layer).</summary>
    public int Tensors { get; }

    public int Rows { get; }

    /// <summary>Slots per row and head (a cache's capacity, or a pass's new tokens per row).</summary>
    public int Slots { get; protected set; }

    /// <summary>Bytes of one entry of one head (headDim elements).</summary>
    public int EntryBytes => Manifest.HeadDim * Manifest.KvType.SizeInBytes();

    /// <summary>ONNX Runtime's element type of the tensors.</summary>
    protected TensorElementType ElementType => Manifest.KvType switch
    {
        KvDataType.Float32 => TensorElementType.Float,
        KvDataType.Float16 => TensorElementType.Float16,
        _ => TensorElementType.BFloat16,
    };

    /// <summary>Whether the tensors live in device memory (then only graphs read or write them).</summary>
    public abstract bool OnDevice { get; }

    /// <summary>The tensor as an OrtValue, shaped [rows, kvHeads, slots, headDim].</summary>
    public abstract OrtValue Value(int tensor);

    /// <summary>Whether <see cref="Value(int, int)"/> can view fewer rows than the storage has (its memory's address is known).</summary>
    public bool ViewsRows => Address(0) != 0;

    /// <summary>
    /// The tensors' first <paramref name="rows"/> rows, [rows, kvHeads, slots, headDim] each in graph order, over the same
    /// memory (rows are the outermost dimension, so they are a prefix of it): what a pass over the leading rows alone binds.
    /// The tensors themselves where <paramref name="rows"/> is <see cref="Rows"/>. Kept until the storage reallocates.
    /// </summary>
    public OrtValue[] Values(int rows)
    {
        if (rows == Rows) return _all ??= [.. Enumerable.Range(0, Tensors).Select(t => Value(t))];
        if (rows < 1 || rows > Rows || !ViewsRows) throw new ArgumentOutOfRangeException(nameof(rows), $"cannot view {rows} of {Rows} rows");
        if (!_views.TryGetValue(rows, out var views))
        {
            var shape = Shape(Slots);
            shape[0] = rows;
            var bytes = (long)rows * Manifest.NumKvHeads * Slots * EntryBytes;
            views = [.. Enumerable.Range(0, Tensors).Select(t => OrtValue.CreateTensorValueWithData(MemoryInfo, ElementType, shape, Address(t), bytes))];
            _views.Add(rows, views);
        }
        return views;
    }

    /// <summary>Tensor <paramref name="tensor"/> of <see cref="Values"/>(<paramref name="rows"/>).</summary>
    public OrtValue Value(int tensor, int rows) => Values(rows)[tensor];

    /// <summary>Where tensor <paramref name="tensor"/>'s memory starts; 0 where the storage does not know (no views then).</summary>
    protected abstract nint Address(int tensor);

    /// <summary>The memory the tensors live in.</summary>
    protected abstract OrtMemoryInfo MemoryInfo { get; }

    /// <summary>Disposes the row views and forgets <see cref="Values"/>' arrays; before the memory under them is freed or
    /// reshaped.</summary>
    protected void DropViews()
    {
        foreach (var views in _views.Values)
            foreach (var view in views) view.Dispose();
        _views.Clear();
        _all = null;
    }

    private readonly Dictionary<int, OrtValue[]> _views = [];   // by rows, fewer than Rows: views this storage owns
    private OrtValue[]? _all;                                    // every row: the tensors themselves, owned by the subclass

    /// <summary>Copies entries from <paramref name="source"/> (same tensor count and heads; may be this storage, when
    /// every run moves entries to lower or equal slots, as tree compaction does) into this storage.</summary>
    public abstract void Copy(KvStorage source, KvMoves moves);

    /// <summary>Copies tensor <paramref name="sourceTensor"/> of <paramref name="source"/> (same shape) into tensor
    /// <paramref name="tensor"/> of this storage.</summary>
    public abstract void CopyTensor(int tensor, KvStorage source, int sourceTensor);

    /// <summary>Sets every tensor to zero.</summary>
    public abstract void Zero();

    /// <summary>Reshapes to <paramref name="slots"/> slots per row; contents are undefined afterwards. For a pass's
    /// outputs, whose shape follows the chunk length.</summary>
    public abstract void Reshape(int slots);

    /// <summary>A host copy of one tensor (tests and diagnostics; a device tensor is read back through a graph).</summary>
    public abstract byte[] Read(int tensor);

    public long TensorBytes(int slots) => (long)Rows * Manifest.NumKvHeads * slots * EntryBytes;

    public long[] Shape(int slots) => [Rows, Manifest.NumKvHeads, slots, Manifest.HeadDim];

    public abstract void Dispose();
}
