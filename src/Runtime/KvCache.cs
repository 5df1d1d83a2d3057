using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Condensa.Runtime;

/// <summary>
/// Host KV buffers for a batch: one key and one value buffer per stored layer, each
/// [batch, kvHeads, capacity, headDim], and a length per row. A forward pass appends the new tokens of each
/// row at that row's length; rewinding only moves the length, since slots past it are masked out and
/// overwritten by the next append.
/// </summary>
public sealed class KvCache : IDisposable
{
    private readonly ModelManifest _manifest;
    private readonly KvCacheOptions _options;
    private readonly int[] _lengths;
    private readonly KvBudget? _budget;
    private readonly long[]? _slotPositions;   // [batch, capacity] position held by each slot, -1 = empty (budgeted only)
    private PinnedBuffer[] _keys;
    private PinnedBuffer[] _values;
    private OrtValue[]? _pastValues;

    internal KvCache(ModelManifest manifest, int batchSize, KvCacheOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.GrowthChunk, 1, nameof(options));
        _manifest = manifest;
        _options = options;
        BatchSize = batchSize;
        MaxCapacity = Math.Min(options.MaxContext ?? manifest.MaxContext, manifest.MaxContext);
        _lengths = new int[batchSize];
        _budget = options.Budget;
        if (_budget is not null)
        {
            _budget.Validate();
            Capacity = _budget.Slots;
            _slotPositions = new long[batchSize * Capacity];
            Array.Fill(_slotPositions, -1L);
        }
        else
        {
            Capacity = Math.Min(MaxCapacity, RoundUp(Math.Max(options.InitialCapacity, 1), options.GrowthChunk));
        }
        (_keys, _values) = Allocate(Capacity);
        Workspace = new ForwardWorkspace(manifest, batchSize);
    }

    /// <summary>Rows in the batch.</summary>
    public int BatchSize { get; }

    /// <summary>Slots per row currently allocated.</summary>
    public int Capacity { get; private set; }

    /// <summary>The most slots a row may ever hold.</summary>
    public int MaxCapacity { get; }

    /// <summary>Number of layers that store KV (fewer than the model's layers for a layer-condensed model).</summary>
    public int StoredLayers => _manifest.KvLayers.Length;

    /// <summary>Tokens cached per row.</summary>
    public ReadOnlySpan<int> Lengths => _lengths;

    /// <summary>KV bytes one token costs in this cache.</summary>
    public long BytesPerToken => _manifest.KvBytesPerToken;

    /// <summary>The sink + window budget, or null for a cache that keeps every position.</summary>
    public KvBudget? Budget => _budget;

    /// <summary>Bytes of KV actually held: the tokens kept per row (all of them, or at most the budget) times
    /// <see cref="BytesPerToken"/>.</summary>
    public long UsedBytes => _lengths.Sum(l => (long)Math.Min(l, _budget?.Slots ?? int.MaxValue)) * BytesPerToken;

    /// <summary>Bytes allocated for the buffers (all rows, full capacity).</summary>
    public long AllocatedBytes => (long)BatchSize * Capacity * BytesPerToken;

    /// <summary>Increments whenever the buffers are reallocated, so bound OrtValues know to rebind.</summary>
    internal int Generation { get; private set; }

    internal ForwardWorkspace Workspace { get; }

    /// <summary>Forgets everything past <paramref name="length"/> tokens in one row.</summary>
    public void RewindTo(int row, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (length > _lengths[row])
            throw new ArgumentOutOfRangeException(nameof(length), $"row {row} holds {_lengths[row]} tokens; cannot rewind forward to {length}.");
        _lengths[row] = length;
        if (_slotPositions is null) return;
        foreach (ref var position in _slotPositions.AsSpan(row * Capacity, Capacity))
            if (position >= length) position = -1;
    }

    /// <summary>
    /// After a pass appended a flattened token tree to <paramref name="row"/> at [start, start + n), keeps the entries
    /// <paramref name="keptIndices"/> (ascending, relative to start: the accepted path) in consecutive slots from
    /// <paramref name="start"/> and forgets the rest, as if only that path had ever been appended. A budgeted cache moves
    /// each entry to the slot of its new position; the tree must fit its ring (n &lt;= window + slack), as any pass must.
    /// </summary>
    public void KeepPath(int row, int start, ReadOnlySpan<int> keptIndices)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        for (var i = 0; i < keptIndices.Length; i++)
            if (keptIndices[i] < (i == 0 ? 0 : keptIndices[i - 1] + 1) || start + keptIndices[i] >= _lengths[row])
                throw new ArgumentException($"kept indices must ascend and lie within row {row}'s {_lengths[row] - start} entries after {start}.",
                    nameof(keptIndices));
        var rowBytes = _manifest.HeadDim * _manifest.KvType.SizeInBytes();
        for (var i = 0; i < keptIndices.Length; i++)
        {
            // Ascending indices move entries down only (index >= i), so no source is overwritten before it is read.
            var from = _budget?.SlotOf(start + keptIndices[i]) ?? start + keptIndices[i];
            var to = _budget?.SlotOf(start + i) ?? start + i;
            if (from == to) continue;
            for (var l = 0; l < StoredLayers; l++)
            for (var h = 0; h < _manifest.NumKvHeads; h++)
            {
                var head = ((long)row * _manifest.NumKvHeads + h) * Capacity;   // past[row, h, 0, :]
                _keys[l].Bytes.Slice((int)((head + from) * rowBytes), rowBytes).CopyTo(_keys[l].Bytes.Slice((int)((head + to) * rowBytes), rowBytes));
                _values[l].Bytes.Slice((int)((head + from) * rowBytes), rowBytes).CopyTo(_values[l].Bytes.Slice((int)((head + to) * rowBytes), rowBytes));
            }
            if (_slotPositions is not null) _slotPositions[row * Capacity + to] = start + i;
        }
        RewindTo(row, start + keptIndices.Length);
    }

    /// <summary>Forgets everything past <paramref name="length"/> tokens in every row.</summary>
    public void RewindTo(int length)
    {
        for (var row = 0; row < BatchSize; row++) RewindTo(row, Math.Min(length, _lengths[row]));
    }

    /// <summary>Empties every row.</summary>
    public void Clear()
    {
        Array.Clear(_lengths);
        if (_slotPositions is not null) Array.Fill(_slotPositions, -1L);
    }

    /// <summary>
    /// Appends the first counts[b] new entries of this cache's last forward pass to <paramref name="destination"/>
    /// (a cache of the same model, e.g. a self-speculation draft's budget), at the destination rows' lengths.
    /// The destination rows must end where that pass started, so the entries land at their own positions.
    /// </summary>
    public void CopyLastPassInto(KvCache destination, ReadOnlySpan<int> counts)
    {
        ArgumentNullException.ThrowIfNull(destination);
        if (destination._manifest.KvBytesPerToken != _manifest.KvBytesPerToken || destination.StoredLayers != StoredLayers ||
            destination.BatchSize != BatchSize)
            throw new ArgumentException("destination has another layout (model or batch size)", nameof(destination));
        var seqLen = Workspace.SeqLen;
        for (var b = 0; b < BatchSize; b++)
            if ((uint)counts[b] > (uint)seqLen) throw new ArgumentOutOfRangeException(nameof(counts), $"counts[{b}] = {counts[b]} exceeds the last pass's {seqLen} tokens.");
        var needed = 0;
        for (var b = 0; b < BatchSize; b++) needed = Math.Max(needed, destination._lengths[b] + counts[b]);
        destination.EnsureCapacity(needed);
        for (var l = 0; l < StoredLayers; l++)
            destination.WriteNew(l, Workspace.NewKeys(l), Workspace.NewValues(l), seqLen, counts);
        destination.Advance(counts);
    }

    /// <summary>Fills attention_bias for a pass over this cache's slots (see <see cref="AttentionMask"/>).</summary>
    internal void BuildBias(Span<float> bias, ReadOnlySpan<int> counts, int seqLen, int? slidingWindow, ReadOnlySpan<bool> visibility,
        ReadOnlySpan<long> positions)
    {
        if (_budget is null)
            AttentionMask.Build(bias, _lengths, counts, seqLen, Capacity, slidingWindow, visibility, positions);
        else
            AttentionMask.BuildBudgeted(bias, _slotPositions, _lengths, counts, seqLen, Capacity, _budget, visibility, positions);
    }

    /// <summary>Key buffer of the i-th stored layer, [batch, kvHeads, capacity, headDim] in the model dtype.</summary>
    internal ReadOnlySpan<byte> KeyBytes(int storedLayer) => _keys[storedLayer].Bytes[..(int)BufferBytes(Capacity)];

    /// <summary>Value buffer of the i-th stored layer, same layout as <see cref="KeyBytes"/>.</summary>
    internal ReadOnlySpan<byte> ValueBytes(int storedLayer) => _values[storedLayer].Bytes[..(int)BufferBytes(Capacity)];

    /// <summary>Grows every buffer so each row can hold <paramref name="slots"/> tokens, keeping what rows hold.</summary>
    internal void EnsureCapacity(int slots)
    {
        if (_budget is not null && slots <= MaxCapacity) return;   // a budget never grows; positions wrap in the ring
        if (slots <= Capacity) return;
        if (slots > MaxCapacity)
            throw new CondensaException($"Context overflow: {slots} tokens needed in one sequence, but the limit is {MaxCapacity} " +
                $"(model max_context {_manifest.MaxContext}). Shorten the prompt or lower --max-tokens.");
        var capacity = Math.Min(MaxCapacity, RoundUp(slots, _options.GrowthChunk));
        var (keys, values) = Allocate(capacity);
        for (var l = 0; l < StoredLayers; l++)
        {
            CopyRows(_keys[l], keys[l], Capacity, capacity);
            CopyRows(_values[l], values[l], Capacity, capacity);
        }
        (_keys, _values, Capacity) = (keys, values, capacity);
        DisposePastValues();
        Generation++;
    }

    /// <summary>OrtValues over the buffers, in graph order (past.{l}.key, past.{l}.value for each stored layer).</summary>
    internal OrtValue[] PastValues()
    {
        if (_pastValues is not null) return _pastValues;
        long[] shape = [BatchSize, _manifest.NumKvHeads, Capacity, _manifest.HeadDim];
        var type = _manifest.KvType == KvDataType.Float32 ? TensorElementType.Float : TensorElementType.Float16;
        var bytes = BufferBytes(Capacity);
        _pastValues = new OrtValue[2 * StoredLayers];
        for (var l = 0; l < StoredLayers; l++)
        {
            _pastValues[2 * l] = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, type, shape, _keys[l].Address, bytes);
            _pastValues[2 * l + 1] = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, type, shape, _values[l].Address, bytes);
        }
        return _pastValues;
    }

    /// <summary>
    /// Writes the first counts[b] new entries of each row (from a [batch, kvHeads, seqLen, headDim] output) at
    /// that row's length, for one stored layer. Call <see cref="Advance"/> once all layers are written.
    /// </summary>
    internal void WriteNew(int storedLayer, ReadOnlySpan<byte> newKeys, ReadOnlySpan<byte> newValues, int seqLen, ReadOnlySpan<int> counts)
    {
        var rowBytes = _manifest.HeadDim * _manifest.KvType.SizeInBytes();
        for (var b = 0; b < BatchSize; b++)
        {
            if (counts[b] == 0) continue;
            if (_budget is not null)
            {
                WriteNewBudgeted(storedLayer, newKeys, newValues, seqLen, b, counts[b], rowBytes);
                continue;
            }
            System.Diagnostics.Debug.Assert(_lengths[b] + counts[b] <= Capacity, "EnsureCapacity must run before WriteNew");
            for (var h = 0; h < _manifest.NumKvHeads; h++)
            {
                var src = ((b * _manifest.NumKvHeads + h) * seqLen) * rowBytes;             // new[b, h, 0, :]
                var dst = ((long)(b * _manifest.NumKvHeads + h) * Capacity + _lengths[b]) * rowBytes; // past[b, h, len_b, :]
                var n = counts[b] * rowBytes;
                newKeys.Slice(src, n).CopyTo(_keys[storedLayer].Bytes.Slice((int)dst, n));
                newValues.Slice(src, n).CopyTo(_values[storedLayer].Bytes.Slice((int)dst, n));
            }
        }
    }

    /// <summary>Budgeted rows: entry j of the pass goes to the slot of position length + j, one entry at a time,
    /// so a pass longer than the ring simply leaves its latest positions.</summary>
    private void WriteNewBudgeted(int storedLayer, ReadOnlySpan<byte> newKeys, ReadOnlySpan<byte> newValues, int seqLen, int b, int count, int rowBytes)
    {
        for (var j = 0; j < count; j++)
        {
            long position = _lengths[b] + j;
            var slot = _budget!.SlotOf(position);
            for (var h = 0; h < _manifest.NumKvHeads; h++)
            {
                var src = ((b * _manifest.NumKvHeads + h) * seqLen + j) * rowBytes;
                var dst = ((b * _manifest.NumKvHeads + h) * Capacity + slot) * rowBytes;
                newKeys.Slice(src, rowBytes).CopyTo(_keys[storedLayer].Bytes.Slice(dst, rowBytes));
                newValues.Slice(src, rowBytes).CopyTo(_values[storedLayer].Bytes.Slice(dst, rowBytes));
            }
            if (storedLayer == 0) _slotPositions![b * Capacity + slot] = position;
        }
    }

    /// <summary>Adds counts[b] to each row's length after <see cref="WriteNew"/> ran for every stored layer.</summary>
    internal void Advance(ReadOnlySpan<int> counts)
    {
        for (var b = 0; b < BatchSize; b++) _lengths[b] += counts[b];
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Workspace.Dispose();
        DisposePastValues();
    }

    private void DisposePastValues()
    {
        if (_pastValues is null) return;
        foreach (var value in _pastValues) value.Dispose();
        _pastValues = null;
    }

    private (PinnedBuffer[] Keys, PinnedBuffer[] Values) Allocate(int capacity)
    {
        var keys = new PinnedBuffer[StoredLayers];
        var values = new PinnedBuffer[StoredLayers];
        for (var l = 0; l < StoredLayers; l++)
        {
            keys[l] = new PinnedBuffer(BufferBytes(capacity));
            values[l] = new PinnedBuffer(BufferBytes(capacity));
        }
        return (keys, values);
    }

    private void CopyRows(PinnedBuffer from, PinnedBuffer to, int oldCapacity, int newCapacity)
    {
        var rowBytes = _manifest.HeadDim * _manifest.KvType.SizeInBytes();
        for (var b = 0; b < BatchSize; b++)
        for (var h = 0; h < _manifest.NumKvHeads; h++)
        {
            var head = b * _manifest.NumKvHeads + h;
            var n = _lengths[b] * rowBytes;
            from.Bytes.Slice(head * oldCapacity * rowBytes, n).CopyTo(to.Bytes.Slice(head * newCapacity * rowBytes, n));
        }
    }

    private long BufferBytes(int capacity) =>
        (long)BatchSize * _manifest.NumKvHeads * capacity * _manifest.HeadDim * _manifest.KvType.SizeInBytes();

    private static int RoundUp(int value, int chunk) => (value + chunk - 1) / chunk * chunk;
}
