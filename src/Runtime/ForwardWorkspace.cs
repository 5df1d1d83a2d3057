using Condensa.Runtime.Kv;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Condensa.Runtime;

/// <summary>
/// Reusable buffers for one batch's forward passes: host inputs (ids, positions, bias, logits index), the host logits,
/// and the new KV per stored layer ([batch, kvHeads, seqLen, headDim], in the cache's memory: host or device), plus the
/// OrtValues over them. Buffers grow geometrically and the OrtValues are rebuilt only when a shape changes, so
/// steady-state decoding allocates nothing. A layer-condensed model also gets the pending.{t} inputs (same shape per
/// pending layer), which the iterative prefill fills from the previous pass's new.{t}.
/// </summary>
internal sealed class ForwardWorkspace : IDisposable
{
    private readonly ModelManifest _manifest;
    private readonly int _batch;
    private PinnedBuffer? _ids, _positions, _bias, _logitsIndex, _logits;
    private readonly KvStorage _newKv;              // new.{l}.key / .value per stored layer
    private readonly KvStorage? _pending;           // pending.{t}.key / .value per pending layer
    private readonly int[] _pendingStoredIndex;     // pending layer -> index among the stored layers
    private (int SeqLen, int K, int Capacity, int CacheGeneration) _shape = (-1, -1, -1, -1);
    private OrtValue[] _inputs = [];
    private OrtValue[] _outputs = [];

    public ForwardWorkspace(ModelManifest manifest, int batch, KvMemory memory)
    {
        _manifest = manifest;
        _batch = batch;
        _newKv = memory.Allocate(manifest, 2 * manifest.KvLayers.Length, batch, slots: 1);
        var pending = manifest.Condensation.PendingLayers;
        _pending = pending.Count == 0 ? null : memory.Allocate(manifest, 2 * pending.Count, batch, slots: 1);
        _pendingStoredIndex = [.. pending.Select(t => Array.IndexOf(manifest.KvLayers, t))];
    }

    public Span<long> Ids => _ids!.As<long>()[..(_batch * _shape.SeqLen)];
    public Span<long> Positions => _positions!.As<long>()[..(_batch * _shape.SeqLen)];
    public Span<float> Bias => _bias!.As<float>()[..(_batch * _shape.SeqLen * (_shape.Capacity + _shape.SeqLen))];
    public Span<long> LogitsIndex => _logitsIndex!.As<long>()[..(_batch * _shape.K)];
    public ReadOnlySpan<float> Logits => _logits!.As<float>()[..(_batch * _shape.K * _manifest.VocabSize)];

    /// <summary>The last pass's new KV, [batch, kvHeads, seqLen, headDim] per stored layer (key, value), in graph order.</summary>
    public KvStorage NewKv => _newKv;

    /// <summary>Input values in graph order: input_ids, position_ids, attention_bias, logits_index, the past, then
    /// pending.{t}.key / .value per pending layer.</summary>
    public IReadOnlyCollection<OrtValue> Inputs => _inputs;

    /// <summary>Output values in graph order: logits, then new.{l}.key / new.{l}.value per stored layer.</summary>
    public IReadOnlyCollection<OrtValue> Outputs => _outputs;

    /// <summary>Sizes the buffers and OrtValues for a pass of seqLen new tokens per row and k logits per row.</summary>
    public void Prepare(int seqLen, int k, KvCache cache)
    {
        var shape = (seqLen, k, cache.Capacity, cache.Generation);
        if (shape == _shape) return;
        DisposeValues();
        _shape = shape;
        var capacity = cache.Capacity;
        _ids = PinnedBuffer.Ensure(_ids, 8L * _batch * seqLen);
        _positions = PinnedBuffer.Ensure(_positions, 8L * _batch * seqLen);
        _bias = PinnedBuffer.Ensure(_bias, 4L * _batch * seqLen * (capacity + seqLen));
        _logitsIndex = PinnedBuffer.Ensure(_logitsIndex, 8L * _batch * k);
        _logits = PinnedBuffer.Ensure(_logits, 4L * _batch * k * _manifest.VocabSize);
        _newKv.Reshape(seqLen);
        _pending?.Reshape(seqLen);

        var past = cache.PastValues();
        var pendingCount = _pending?.Tensors ?? 0;
        _inputs = new OrtValue[4 + past.Length + pendingCount];
        _inputs[0] = Tensor(_ids, TensorElementType.Int64, [_batch, seqLen]);
        _inputs[1] = Tensor(_positions, TensorElementType.Int64, [_batch, seqLen]);
        _inputs[2] = Tensor(_bias, TensorElementType.Float, [_batch, 1, seqLen, capacity + seqLen]);
        _inputs[3] = Tensor(_logitsIndex, TensorElementType.Int64, [_batch, k]);
        past.CopyTo(_inputs, 4);   // owned by the cache, not disposed here
        for (var i = 0; i < pendingCount; i++) _inputs[4 + past.Length + i] = _pending!.Value(i);   // owned by _pending

        _outputs = new OrtValue[1 + _newKv.Tensors];
        _outputs[0] = Tensor(_logits, TensorElementType.Float, [_batch, k, _manifest.VocabSize]);
        for (var i = 0; i < _newKv.Tensors; i++) _outputs[1 + i] = _newKv.Value(i);   // owned by _newKv
    }

    /// <summary>Zeros every pending input: the first pass of a chunk has no estimate yet (and decode needs none,
    /// since the graph masks a new token's pending keys from itself).</summary>
    public void ClearPending() => _pending?.Zero();

    /// <summary>Feeds the last pass's new KV of the given pending layers (indices into the pending list) as the
    /// next pass's pending inputs.</summary>
    public void PendingFromNew(ReadOnlySpan<int> pendingIndices)
    {
        foreach (var p in pendingIndices)
        {
            _pending!.CopyTensor(2 * p, _newKv, 2 * _pendingStoredIndex[p]);
            _pending.CopyTensor(2 * p + 1, _newKv, 2 * _pendingStoredIndex[p] + 1);
        }
    }

    public void Dispose()
    {
        DisposeValues();
        _newKv.Dispose();
        _pending?.Dispose();
    }

    private void DisposeValues()
    {
        // Only the host inputs and the logits belong to the workspace's OrtValues; the past, pending and new KV values
        // belong to their storage.
        for (var i = 0; i < Math.Min(4, _inputs.Length); i++) _inputs[i].Dispose();
        if (_outputs.Length > 0) _outputs[0].Dispose();
        _inputs = [];
        _outputs = [];
        _shape = (-1, -1, -1, -1);
    }

    private static OrtValue Tensor(PinnedBuffer buffer, TensorElementType type, long[] shape)
    {
        var elementSize = type is TensorElementType.Int64 ? 8 : type is TensorElementType.Float ? 4 : 2;
        var bytes = shape.Aggregate(1L, (a, d) => a * d) * elementSize;
        return OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, type, shape, buffer.Address, bytes);
    }
}
