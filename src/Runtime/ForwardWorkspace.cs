using System.Numerics.Tensors;
using Condensa.Runtime.Capture;
using Condensa.Runtime.Kv;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Condensa.Runtime;

/// <summary>
/// Reusable buffers for one batch's forward passes: the host inputs (ids, positions, logits index, KV write index,
/// mask: one pinned block), the host logits and greedy tokens, and the new KV per stored layer ([batch, kvHeads, seqLen, headDim], in the
/// cache's memory: host or device), plus the OrtValues over them; the present outputs are the cache's own buffers.
/// Buffers grow geometrically and the OrtValues are rebuilt only when a shape changes, so steady-state decoding
/// allocates nothing. A layer-condensed model also gets the pending.{t} inputs (same shape per pending layer), which the
/// iterative prefill fills from the previous pass's new.{t}.
/// <para>
/// With CUDA graph capture (<see cref="GraphCapture"/>) each capturable pass shape keeps its own device copy of the input
/// block, its own device logits and new-KV outputs, and its own graph id, all fixed until the cache regrows: a step
/// uploads the host block in one copy, replays the graph and downloads the greedy tokens, and the logits when the caller
/// reads them.
/// </para>
/// </summary>
internal sealed class ForwardWorkspace : IDisposable
{
    private static readonly RunOptions Uncaptured = new();   // only read by Run; one instance avoids an allocation per step

    private readonly ModelManifest _manifest;
    private readonly int _batch;
    private readonly KvMemory _memory;
    private readonly GraphCapture? _capture;
    private readonly int _pendingTensors;            // pending.{t}.key / .value per pending layer
    private readonly int[] _pendingStoredIndex;      // pending layer -> index among the stored layers
    private readonly Pass _uncaptured;               // the pass of every shape that is not captured, rebuilt per shape
    private readonly Pass _uncapturedCausal;         // the same for the causal graph
    private readonly Dictionary<(int Rows, int SeqLen, int K, bool Causal), Pass> _captured = [];
    private (int Slots, int Generation) _capturedLayout = (-1, -1);
    private readonly int _heads;                      // logits, and greedy_tokens where the export has it: the pass's own outputs
    private PinnedBuffer? _host, _logits, _greedy;
    private int[] _greedyTokens = [];
    private readonly PinnedBuffer _total = new(4);   // total_sequence_length, int32 in host memory (a CPU input of the causal graph)
    private float[] _sequential = [];                 // a use_sequential prefill's logits, gathered over its passes
    private Layout _layout;
    private bool _wantsLogits = true;
    private Pass _pass;

    public ForwardWorkspace(ModelManifest manifest, int batch, KvMemory memory, GraphCapture? capture = null)
    {
        _manifest = manifest;
        _batch = batch;
        _memory = memory;
        _capture = capture;
        var pending = manifest.Condensation.PendingLayers;
        _pendingTensors = 2 * pending.Count;
        _pendingStoredIndex = [.. pending.Select(t => Array.IndexOf(manifest.KvLayers, t))];
        _heads = manifest.HasGreedyTokens ? 2 : 1;
        _uncaptured = NewPass(slots: 1, causal: false, capture is null ? Uncaptured : GraphCapture.Options(-1), staged: null, deviceLogits: null);
        _uncapturedCausal = NewPass(slots: 1, causal: true, capture is null ? Uncaptured : GraphCapture.Options(-1), staged: null, deviceLogits: null);
        _pass = _uncaptured;
    }

    /// <summary>Rows the prepared pass runs over: the cache's first ones (the rest sit it out).</summary>
    public int Rows => _layout.Batch;

    public Span<long> Ids => _host!.As<long>().Slice(_layout.Ids / 8, _layout.Batch * _layout.SeqLen);
    public Span<long> Positions => _host!.As<long>().Slice(_layout.Positions / 8, _layout.Batch * _layout.SeqLen);
    public Span<long> LogitsIndex => _host!.As<long>().Slice(_layout.LogitsIndex / 8, _layout.Batch * _layout.K);
    public Span<long> WriteIndex => _host!.As<long>().Slice(_layout.WriteIndex / 8, 3 * _layout.Batch * _layout.KvHeads * _layout.SeqLen);
    /// <summary>attention_span of the general and slots graphs: [rows, seqLen, 2] each new token's visible cache slots.</summary>
    public Span<long> Spans => _host!.As<long>().Slice(_layout.Spans / 8, _layout.Causal ? 0 : 2 * _layout.Batch * _layout.SeqLen);
    /// <summary>attention_new of the general and slots graphs: [rows, 1, seqLen, seqLen] which new tokens each sees.</summary>
    public Span<float> NewBias => _host!.As<float>().Slice(_layout.NewBias / 4, _layout.Causal ? 0 : _layout.Batch * _layout.SeqLen * _layout.SeqLen);
    /// <summary>seqlens_k of the causal graph: [rows] each row's length after the pass, minus one.</summary>
    public Span<int> SeqLensK => _host!.As<int>().Slice(_layout.SeqLens / 4, _layout.Batch);

    /// <summary>total_sequence_length of the causal graph: an upper bound of the rows' lengths after the pass, fixed while
    /// the cache keeps its buffers (a captured graph replays the value it was captured with).</summary>
    public int TotalSequenceLength { set => _total.As<int>()[0] = value; }

    /// <summary>[rows, k, vocab] the last pass's logits (rows past <see cref="Rows"/> sat the pass out and have none).</summary>
    public ReadOnlySpan<float> Logits => _logits!.As<float>()[..(_layout.Batch * _layout.K * _manifest.VocabSize)];

    /// <summary>[batch, k] the last pass's most likely token per selected position (the first maximum on a tie): the graph's
    /// greedy_tokens where the export has them, else the argmax of <see cref="Logits"/> here.</summary>
    public ReadOnlySpan<int> GreedyTokens
    {
        get
        {
            if (_heads == 1) return ArgmaxOf(Logits);
            var ids = _greedy!.As<long>()[..(_layout.Batch * _layout.K)];
            var tokens = TokenScratch(ids.Length);
            for (var i = 0; i < ids.Length; i++) tokens[i] = (int)ids[i];
            return tokens;
        }
    }

    /// <summary>The argmax of each vocab-sized slice of <paramref name="logits"/> (the first maximum on a tie), in scratch
    /// that <see cref="GreedyTokens"/> shares.</summary>
    public ReadOnlySpan<int> ArgmaxOf(ReadOnlySpan<float> logits)
    {
        var vocab = _manifest.VocabSize;
        var tokens = TokenScratch(logits.Length / vocab);
        for (var i = 0; i < tokens.Length; i++) tokens[i] = TensorPrimitives.IndexOfMax(logits.Slice(i * vocab, vocab));
        return tokens;
    }

    private Span<int> TokenScratch(int length)
    {
        if (_greedyTokens.Length < length) _greedyTokens = new int[length];
        return _greedyTokens.AsSpan(0, length);
    }

    /// <summary>The last pass's new KV, [batch, kvHeads, seqLen, headDim] per stored layer (key, value), in graph order.</summary>
    public KvStorage NewKv => _pass.NewKv ?? throw new InvalidOperationException("a causal pass has no new-KV outputs; its entries are in the cache");

    /// <summary>Input values in graph order: input_ids, position_ids, attention_span, attention_new, logits_index, kv_write_index, the
    /// past, then pending.{t}.key / .value per pending layer.</summary>
    public IReadOnlyCollection<OrtValue> Inputs => _pass.Inputs;

    /// <summary>
    /// Whether the next run fetches the logits. A greedy pass (<see cref="Prepare"/>'s <c>logits</c> false) of an export with
    /// greedy_tokens leaves them out where nothing binds them to fixed memory, so an uncaptured GPU pass never copies the
    /// B·K·V floats to the host (ONNX Runtime keeps them in its own device memory); a captured pass keeps its bindings and
    /// only skips the download.
    /// </summary>
    public bool FetchesLogits => _wantsLogits || _heads == 1 || _pass.Staged is not null;

    /// <summary>Output values in graph order (without the logits when <see cref="FetchesLogits"/> is false): logits,
    /// greedy_tokens where the export has them, new.{l}.key / new.{l}.value per stored layer, then present.{l}.key /
    /// present.{l}.value per stored layer (the past's own buffers: the graph writes the new entries in place).</summary>
    public IReadOnlyCollection<OrtValue> Outputs => FetchesLogits ? _pass.Outputs : _pass.OutputsAfterLogits;

    /// <summary>Whether the model's causal graphs take position_ids (exporter 15 on): its causal passes bind them.</summary>
    public bool CausalTakesPositions { get; set; }

    /// <summary>Run options of the pass: its CUDA graph id when captured.</summary>
    public RunOptions RunOptions => _pass.RunOptions;

    /// <summary>Sizes the buffers and OrtValues for a pass of seqLen new tokens per row and k logits per row over the cache's
    /// first <paramref name="rows"/> rows (all by default), of the general graph or the causal one; <paramref name="logits"/>
    /// false: the caller reads only the greedy tokens; <paramref name="capturable"/> false: the session that runs the pass
    /// does not capture (it runs uncaptured).</summary>
    public void Prepare(int seqLen, int k, KvCache cache, bool causal = false, bool logits = true, bool capturable = true, int? rows = null)
    {
        _wantsLogits = logits;
        var layout = new Layout(rows ?? _batch, _manifest.NumKvHeads, seqLen, k, cache.Slots, cache.Generation, causal, capturable);
        if (layout == _layout) return;
        _layout = layout;
        _host = PinnedBuffer.Ensure(_host, layout.HostBytes);
        _logits = PinnedBuffer.Ensure(_logits, LogitsBytes(_batch, k));
        _greedy = PinnedBuffer.Ensure(_greedy, GreedyBytes(_batch, k));
        _pass = _capture is not null && capturable && GraphCapture.Captures(seqLen) ? CapturedPass(layout, cache) : UncapturedPass(layout, cache);
    }

    /// <summary>Before a run: a captured pass copies the host input block to its device copy (one copy).</summary>
    public void Upload()
    {
        if (_pass.Staged is { } staged) staged.Upload(_host!.Address, _layout.HostBytes);
    }

    /// <summary>After a run: a captured pass copies its device greedy tokens to the host, and its logits when the pass
    /// wants them (a greedy step then moves B·K ids, not B·K·V floats). An uncaptured pass's outputs are in host memory
    /// already.</summary>
    public void Download()
    {
        if (_pass.DeviceGreedy is { } greedy) greedy.Download(_greedy!.Address, GreedyBytes(_layout.Batch, _layout.K));
        if ((_wantsLogits || _heads == 1) && _pass.DeviceLogits is { } deviceLogits)
            deviceLogits.Download(_logits!.Address, LogitsBytes(_layout.Batch, _layout.K));
    }

    /// <summary>Logits of a sequential prefill (<c>use_sequential</c>), gathered over its one-token passes; grows, never shrinks.</summary>
    public Span<float> SequentialLogits(int length)
    {
        if (_sequential.Length < length) _sequential = new float[length];
        return _sequential.AsSpan(0, length);
    }

    /// <summary>Zeros every pending input: the first pass of a chunk has no estimate yet (and decode needs none,
    /// since the graph masks a new token's pending keys from itself).</summary>
    public void ClearPending() => _pass.Pending?.Zero();

    /// <summary>Feeds the last pass's new KV of the given pending layers (indices into the pending list) as the
    /// next pass's pending inputs.</summary>
    public void PendingFromNew(ReadOnlySpan<int> pendingIndices)
    {
        foreach (var p in pendingIndices)
        {
            _pass.Pending!.CopyTensor(2 * p, NewKv, 2 * _pendingStoredIndex[p]);
            _pass.Pending.CopyTensor(2 * p + 1, NewKv, 2 * _pendingStoredIndex[p] + 1);
        }
    }

    public void Dispose()
    {
        DropCaptured();
        _uncaptured.Dispose();
        _uncapturedCausal.Dispose();
    }

    // The shared pass: its OrtValues sit over the host block, rebuilt for every new shape.
    private Pass UncapturedPass(Layout layout, KvCache cache)
    {
        var pass = layout.Causal ? _uncapturedCausal : _uncaptured;
        pass.DisposeValues();
        var host = _host!.Address;
        if (layout.Causal)
        {
            BindCausal(pass, cache, layout,
                Host(host + layout.Ids, TensorElementType.Int64, [layout.Batch, layout.SeqLen]),
                CausalTakesPositions ? Host(host + layout.Positions, TensorElementType.Int64, [layout.Batch, layout.SeqLen]) : null,
                Host(host + layout.LogitsIndex, TensorElementType.Int64, [layout.Batch, layout.K]),
                Host(host + layout.SeqLens, TensorElementType.Int32, [layout.Batch]),
                HostHeads(layout));
            return pass;
        }
        pass.NewKv!.Reshape(layout.SeqLen);
        pass.Pending?.Reshape(layout.SeqLen);
        Bind(pass, cache, layout,
            Host(host + layout.Ids, TensorElementType.Int64, [layout.Batch, layout.SeqLen]),
            Host(host + layout.Positions, TensorElementType.Int64, [layout.Batch, layout.SeqLen]),
            Host(host + layout.Spans, TensorElementType.Int64, [layout.Batch, layout.SeqLen, 2]),
            Host(host + layout.NewBias, TensorElementType.Float, [layout.Batch, 1, layout.SeqLen, layout.SeqLen]),
            Host(host + layout.LogitsIndex, TensorElementType.Int64, [layout.Batch, layout.K]),
            Host(host + layout.WriteIndex, TensorElementType.Int64, [layout.Batch, layout.KvHeads, layout.SeqLen, 3]),
            HostHeads(layout));
        return pass;
    }

    // A captured shape's own pass, kept while the cache keeps its buffers (a regrown cache retires every graph).
    private Pass CapturedPass(Layout layout, KvCache cache)
    {
        if (_capturedLayout != (layout.Slots, layout.Generation))
        {
            DropCaptured();
            _capturedLayout = (layout.Slots, layout.Generation);
        }
        if (_captured.TryGetValue((layout.Batch, layout.SeqLen, layout.K, layout.Causal), out var pass)) return pass;

        var capture = _capture!;
        var graphId = capture.NextId();
        var staged = new DeviceBuffer(capture.MemoryInfo, capture.DeviceId, layout.HostBytes);
        var logits = new DeviceBuffer(capture.MemoryInfo, capture.DeviceId, LogitsBytes(layout.Batch, layout.K));
        var greedy = _heads == 2 ? new DeviceBuffer(capture.MemoryInfo, capture.DeviceId, GreedyBytes(layout.Batch, layout.K)) : null;
        pass = NewPass(layout.SeqLen, layout.Causal, GraphCapture.Options(graphId), staged, logits, greedy);
        OrtValue[] heads = greedy is null
            ? [logits.Tensor(TensorElementType.Float, [layout.Batch, layout.K, _manifest.VocabSize])]
            : [logits.Tensor(TensorElementType.Float, [layout.Batch, layout.K, _manifest.VocabSize]), greedy.Tensor(TensorElementType.Int64, [layout.Batch, layout.K])];
        _captured.Add((layout.Batch, layout.SeqLen, layout.K, layout.Causal), pass);
        if (layout.Causal)
        {
            BindCausal(pass, cache, layout,
                staged.Tensor(TensorElementType.Int64, [layout.Batch, layout.SeqLen], layout.Ids),
                CausalTakesPositions ? staged.Tensor(TensorElementType.Int64, [layout.Batch, layout.SeqLen], layout.Positions) : null,
                staged.Tensor(TensorElementType.Int64, [layout.Batch, layout.K], layout.LogitsIndex),
                staged.Tensor(TensorElementType.Int32, [layout.Batch], layout.SeqLens),
                heads);
            return pass;
        }
        Bind(pass, cache, layout,
            staged.Tensor(TensorElementType.Int64, [layout.Batch, layout.SeqLen], layout.Ids),
            staged.Tensor(TensorElementType.Int64, [layout.Batch, layout.SeqLen], layout.Positions),
            staged.Tensor(TensorElementType.Int64, [layout.Batch, layout.SeqLen, 2], layout.Spans),
            staged.Tensor(TensorElementType.Float, [layout.Batch, 1, layout.SeqLen, layout.SeqLen], layout.NewBias),
            staged.Tensor(TensorElementType.Int64, [layout.Batch, layout.K], layout.LogitsIndex),
            staged.Tensor(TensorElementType.Int64, [layout.Batch, layout.KvHeads, layout.SeqLen, 3], layout.WriteIndex),
            heads);
        return pass;
    }

    // The causal graph's inputs: input_ids, position_ids (null where the graph has none: before exporter 15), logits_index, seqlens_k, total_sequence_length
    // (host memory, also when captured: GroupQueryAttention reads it on the host, and it stays fixed for the buffers), the
    // past; its outputs: logits (and greedy_tokens) and present.{l} (the past's buffers, written in place).
    private void BindCausal(Pass pass, KvCache cache, Layout layout, OrtValue ids, OrtValue? positions, OrtValue logitsIndex, OrtValue seqLens,
        OrtValue[] heads)
    {
        var past = cache.PastValues(layout.Batch);
        OrtValue[] owned = positions is null
            ? [ids, logitsIndex, seqLens, Host(_total.Address, TensorElementType.Int32, [1])]
            : [ids, positions, logitsIndex, seqLens, Host(_total.Address, TensorElementType.Int32, [1])];
        pass.Inputs = [.. owned, .. past];
        pass.OwnedInputCount = owned.Length;
        pass.Outputs = new OrtValue[heads.Length + past.Length];
        heads.CopyTo(pass.Outputs, 0);
        past.CopyTo(pass.Outputs, heads.Length);
    }

    private void Bind(Pass pass, KvCache cache, Layout layout, OrtValue ids, OrtValue positions, OrtValue spans, OrtValue newBias,
        OrtValue logitsIndex, OrtValue writeIndex, OrtValue[] heads)
    {
        var past = cache.PastValues(layout.Batch);
        var pendingCount = pass.Pending?.Tensors ?? 0;
        pass.Inputs = new OrtValue[Pass.OwnedInputs + past.Length + pendingCount];
        pass.OwnedInputCount = Pass.OwnedInputs;
        pass.Inputs[0] = ids;
        pass.Inputs[1] = positions;
        pass.Inputs[2] = spans;
        pass.Inputs[3] = newBias;
        pass.Inputs[4] = logitsIndex;
        pass.Inputs[5] = writeIndex;
        past.CopyTo(pass.Inputs, Pass.OwnedInputs);   // owned by the cache, not disposed here
        for (var i = 0; i < pendingCount; i++) pass.Inputs[Pass.OwnedInputs + past.Length + i] = pass.Pending!.Value(i, layout.Batch);   // owned by Pending

        var newKv = pass.NewKv!;
        pass.Outputs = new OrtValue[heads.Length + newKv.Tensors + past.Length];
        heads.CopyTo(pass.Outputs, 0);
        for (var i = 0; i < newKv.Tensors; i++) pass.Outputs[heads.Length + i] = newKv.Value(i, layout.Batch);   // owned by NewKv
        past.CopyTo(pass.Outputs, heads.Length + newKv.Tensors);   // present.{l}: the past's buffers, written in place
        System.Diagnostics.Debug.Assert(newKv.Slots == layout.SeqLen, "the new KV outputs hold the pass's tokens");
    }

    private void DropCaptured()
    {
        foreach (var pass in _captured.Values)
        {
            if (ReferenceEquals(pass, _pass)) _pass = _uncaptured;
            pass.Dispose();
        }
        _captured.Clear();
        _capturedLayout = (-1, -1);
    }

    // A causal pass has no new-KV outputs and no pending inputs (a layer-condensed model's causal graph takes decode steps,
    // whose pending KV is never read).
    private Pass NewPass(int slots, bool causal, RunOptions runOptions, DeviceBuffer? staged, DeviceBuffer? deviceLogits,
        DeviceBuffer? deviceGreedy = null) => new(
        causal ? null : _memory.Allocate(_manifest, 2 * _manifest.KvLayers.Length, _batch, slots),
        causal || _pendingTensors == 0 ? null : _memory.Allocate(_manifest, _pendingTensors, _batch, slots),
        runOptions, staged, deviceLogits, deviceGreedy, _heads);

    private long LogitsBytes(int rows, int k) => 4L * rows * k * _manifest.VocabSize;

    private static long GreedyBytes(int rows, int k) => 8L * rows * k;

    // The pass's own outputs over the host buffers: logits, and greedy_tokens where the graph has them.
    private OrtValue[] HostHeads(Layout layout) => _heads == 2
        ? [Host(_logits!.Address, TensorElementType.Float, [layout.Batch, layout.K, _manifest.VocabSize]), Host(_greedy!.Address, TensorElementType.Int64, [layout.Batch, layout.K])]
        : [Host(_logits!.Address, TensorElementType.Float, [layout.Batch, layout.K, _manifest.VocabSize])];

    private static OrtValue Host(nint address, TensorElementType type, long[] shape)
    {
        var bytes = shape.Aggregate(1L, (a, d) => a * d) * DeviceBuffer.ElementSize(type);
        return OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, type, shape, address, bytes);
    }

    /// <summary>A pass shape over a cache of <paramref name="Slots"/> slots per row, and where each input sits in the host
    /// block (byte offsets): [ids: 8·B·S][positions: 8·B·S][logits_index: 8·B·K][seqlens_k: 4·B, padded to 8]
    /// [kv_write_index: 24·B·Hkv·S][attention_span: 16·B·S][attention_new: 4·B·S·S]; a causal pass has none of the last
    /// three. Nothing grows with the context (exporter 17: the graph builds the bias over the slots itself).</summary>
    private readonly record struct Layout(int Batch, int KvHeads, int SeqLen, int K, int Slots, int Generation, bool Causal, bool Capturable)
    {
        public int Ids => 0;
        public int Positions => 8 * Batch * SeqLen;
        public int LogitsIndex => 16 * Batch * SeqLen;
        public int SeqLens => LogitsIndex + 8 * Batch * K;
        public int WriteIndex => SeqLens + 8 * ((Batch + 1) / 2);
        public int Spans => WriteIndex + (Causal ? 0 : 24 * Batch * KvHeads * SeqLen);
        public int NewBias => Spans + (Causal ? 0 : 16 * Batch * SeqLen);
        public long HostBytes => NewBias + (Causal ? 0 : 4L * Batch * SeqLen * SeqLen);
    }

    /// <summary>One pass shape's OrtValues, outputs and pending inputs; the pass owns the first <see cref="OwnedInputs"/>
    /// inputs and the first <paramref name="heads"/> outputs (logits, greedy tokens), the storages (new KV, pending, the
    /// cache's past) own the rest.</summary>
    private sealed class Pass(KvStorage? newKv, KvStorage? pending, RunOptions runOptions, DeviceBuffer? staged, DeviceBuffer? deviceLogits,
        DeviceBuffer? deviceGreedy, int heads) : IDisposable
    {
        public KvStorage? NewKv { get; } = newKv;
        public KvStorage? Pending { get; } = pending;
        public RunOptions RunOptions { get; } = runOptions;
        public DeviceBuffer? Staged { get; } = staged;
        public DeviceBuffer? DeviceLogits { get; } = deviceLogits;
        public DeviceBuffer? DeviceGreedy { get; } = deviceGreedy;
        public OrtValue[] Inputs { get; set; } = [];
        public OrtValue[] Outputs
        {
            get => _outputs;
            set
            {
                _outputs = value;
                _afterLogits = null;   // taken once the binding has filled the array
            }
        }

        /// <summary><see cref="Outputs"/> without the logits, for a pass that does not fetch them.</summary>
        public OrtValue[] OutputsAfterLogits => _afterLogits ??= _outputs.Length > 0 ? _outputs[1..] : [];

        private OrtValue[] _outputs = [];
        private OrtValue[]? _afterLogits;

        /// <summary>input_ids, position_ids, attention_span, attention_new, logits_index and kv_write_index: the pass's own values.</summary>
        public const int OwnedInputs = 6;

        /// <summary>The first inputs the pass owns: <see cref="OwnedInputs"/>, or a causal pass's input_ids, position_ids (exporter 15 on),
        /// logits_index, seqlens_k and total_sequence_length.</summary>
        public int OwnedInputCount { get; set; }

        public void DisposeValues()
        {
            for (var i = 0; i < Math.Min(OwnedInputCount, Inputs.Length); i++) Inputs[i].Dispose();
            for (var i = 0; i < Math.Min(heads, Outputs.Length); i++) Outputs[i].Dispose();
            Inputs = [];
            Outputs = [];
        }

        public void Dispose()
        {
            DisposeValues();
            NewKv?.Dispose();
            Pending?.Dispose();
            Staged?.Dispose();
            DeviceLogits?.Dispose();
            DeviceGreedy?.Dispose();
            if (!ReferenceEquals(RunOptions, Uncaptured)) RunOptions.Dispose();
        }
    }
}
