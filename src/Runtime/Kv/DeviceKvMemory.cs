using Condensa.Runtime.Capture;
using Condensa.Runtime.ExecutionProviders;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Condensa.Runtime.Kv;

/// <summary>
/// KV tensors in the execution provider's memory, allocated through the model session's device allocator and edited
/// only by the export's small graphs (condensa.json "kv_ops": kv_write, kv_zeros, kv_copy), whose inputs and outputs
/// are bound to those buffers. So a pass's new entries, tree compaction and regrowth never travel through host memory.
/// With CUDA graph capture the buffers come from cudaMalloc instead (<see cref="DeviceBuffer"/>): a captured graph's
/// intermediates live in the session's arena, and a KV buffer handed the arena's freed blocks would be overwritten by
/// the next replay.
/// </summary>
internal sealed class DeviceKvMemory : KvMemory, IDisposable
{
    private readonly InferenceSession _write;
    private readonly InferenceSession? _writeEntries;   // null in exports before version 16, and where tensors are not addresses
    private readonly InferenceSession _zeros;
    private readonly InferenceSession _copy;
    private readonly Lazy<InferenceSession> _writeFromFloat;   // loaded once a float32 model's entries first come in
    private readonly RunOptions _runOptions = new();

    private readonly bool _addressable;   // the provider's device memory is plain addresses (CPU, CUDA): views of leading rows
    private readonly bool _copiesSpans;
    private readonly ExecutionProvider _provider;
    private readonly int _deviceId;

    private DeviceKvMemory(InferenceSession write, InferenceSession? writeEntries, InferenceSession zeros, InferenceSession copy,
        Func<InferenceSession> writeFromFloat, OrtMemoryInfo memoryInfo, OrtAllocator allocator, GraphCapture? capture, ExecutionProvider provider,
        int deviceId)
    {
        (_write, _writeEntries, _zeros, _copy) = (write, writeEntries, zeros, copy);
        _writeFromFloat = new Lazy<InferenceSession>(writeFromFloat);
        MemoryInfo = memoryInfo;
        Allocator = allocator;
        Capture = capture;
        (_provider, _deviceId) = (provider, deviceId);
        _addressable = IsAddressable(provider);
        _copiesSpans = _addressable && SwitchedOn(Environment.GetEnvironmentVariable(NoSpanCopies));
    }

    // DirectML's and WebGPU's tensors wrap resource handles, not addresses a view could start at: no leading-row views,
    // no storage whose tensors lie in one buffer (so no kv_write_entries), and no strided copies
    private static bool IsAddressable(ExecutionProvider provider) => provider == ExecutionProvider.Cpu || provider == ExecutionProvider.Cuda;

    /// <summary>Whether copies between this memory's storages may run as strided memory copies (<see cref="CopySpans"/>): its
    /// tensors are plain addresses, in host memory (the CPU provider) or CUDA device memory, and <see cref="NoSpanCopies"/>
    /// does not turn them off.</summary>
    public bool CopiesSpans => _copiesSpans;

    /// <summary>Does <paramref name="spans"/> (<see cref="KvSpans.Plan"/>), returning once they have landed.</summary>
    public void CopySpans(ReadOnlySpan<KvSpan> spans)
    {
        if (_provider == ExecutionProvider.Cpu)
        {
            KvSpans.CopyOnHost(spans);
            return;
        }
        CudaRuntime.SetDevice(_deviceId);
        CudaRuntime.CopyOnDevice(spans);
    }

    public override bool OnDevice => true;

    public override GraphCapture? Capture { get; }

    public OrtMemoryInfo MemoryInfo { get; }

    /// <summary>The model session's allocator for <see cref="MemoryInfo"/>.</summary>
    public OrtAllocator Allocator { get; }

    /// <summary>
    /// Loads the KV-edit graphs of <paramref name="exportDir"/> on <paramref name="provider"/> and takes the device
    /// allocator of <paramref name="modelSession"/>, so every buffer lives where the model computes.
    /// </summary>
    public static DeviceKvMemory Load(string exportDir, ModelManifest manifest, InferenceSession modelSession, ExecutionProvider provider,
        SessionSettings settings)
    {
        if (manifest.KvOps is null)
            throw new CondensaException($"{Path.Combine(exportDir, ModelManifest.FileName)}: no \"kv_ops\" graphs (the export predates device-resident " +
                "KV caches); export the checkpoint again, or keep the KV cache in host memory (KvResidence.Host, --kv-residence host).");
        var files = new List<string> { manifest.KvOps.Write, manifest.KvOps.Zeros, manifest.KvOps.Copy };
        if (IsAddressable(provider) && manifest.KvOps.WriteEntries is { } writeEntries && SwitchedOn(Environment.GetEnvironmentVariable(NoEntriesWrites)))
            files.Add(writeEntries);
        var sessions = new List<InferenceSession>();
        try
        {
            foreach (var file in files) sessions.Add(LoadGraph(exportDir, file, provider, settings));
            var deviceId = settings.ProviderOptions.DeviceId;
            var memoryInfo = provider.CreateMemoryInfo(deviceId);
            var capture = settings.CapturesGraphs(provider) ? new GraphCapture(memoryInfo, deviceId) : null;
            var fromFloat = manifest.KvOps.WriteFromFloat;
            InferenceSession WriteFromFloat() => fromFloat is null
                ? throw new CondensaException($"{Path.Combine(exportDir, ModelManifest.FileName)}: no \"kv_ops\" graph that takes float32 entries " +
                    "(write_from_float: half-precision exports from exporter 19 on), so this export cannot draft for a float32 one; export it again.")
                : LoadGraph(exportDir, fromFloat, provider, settings);
            return new DeviceKvMemory(sessions[0], sessions.ElementAtOrDefault(3), sessions[1], sessions[2], WriteFromFloat, memoryInfo,
                new OrtAllocator(modelSession, memoryInfo), capture, provider, deviceId);
        }
        catch
        {
            foreach (var session in sessions) session.Dispose();
            throw;
        }
    }

    private static InferenceSession LoadGraph(string exportDir, string file, ExecutionProvider provider, SessionSettings settings)
    {
        var path = Path.Combine(exportDir, file);
        if (!File.Exists(path)) throw new CondensaException($"{path}: KV-edit graph named in {ModelManifest.FileName} is missing.");
        using var options = settings.ToSessionOptions(provider, captureGraphs: false);   // their index inputs change every run
        return new InferenceSession(path, options);
    }

    /// <summary>A device tensor, what must be disposed with it, and its address (for views of its leading rows; 0 on a
    /// provider whose memory is not plain addresses, or where ONNX Runtime's allocator cannot hand out a block that large and
    /// the tensor owns its memory).</summary>
    public (OrtValue Value, IDisposable? Owner, nint Address) CreateTensor(TensorElementType type, long[] shape)
    {
        var bytes = shape.Aggregate(1L, (a, d) => a * d) * DeviceBuffer.ElementSize(type);
        if (Capture is not null)
        {
            var buffer = new DeviceBuffer(MemoryInfo, Capture.DeviceId, bytes);
            return (buffer.Tensor(type, shape), buffer, buffer.Address);
        }
        if (!_addressable || bytes > uint.MaxValue) return (OrtValue.CreateAllocatedTensorValue(Allocator, type, shape), null, 0);
        var block = Allocator.Allocate((uint)bytes);
        var address = block.DangerousGetHandle();   // the block's device address (OrtMemoryAllocation is a SafeHandle over it)
        return (OrtValue.CreateTensorValueWithData(MemoryInfo, type, shape, address, bytes), block, address);
    }

    /// <summary>The environment variable that, set to 0, keeps every storage a tensor a buffer and every edit on kv_write (a
    /// measurement of what kv_write_entries saves, in one process of the same build).</summary>
    public const string NoEntriesWrites = "CONDENSA_KV_WRITE_ENTRIES";

    /// <summary>The environment variable that, set to 0, keeps copies off strided memory copies (<see cref="CopiesSpans"/>): what
    /// they save, measured in one process of the same build.</summary>
    public const string NoSpanCopies = "CONDENSA_KV_SPAN_COPIES";

    /// <summary>Whether a switch's <paramref name="value"/> (<see cref="NoEntriesWrites"/>, <see cref="NoSpanCopies"/>) leaves
    /// its path on: anything but "0".</summary>
    internal static bool SwitchedOn(string? value) => value?.Trim() != "0";

    /// <summary>
    /// <paramref name="count"/> tensors of <paramref name="shape"/> in one buffer, tensor t from t times a tensor's bytes
    /// (what kv_write_entries edits in one run), with what must be disposed after them and the buffer's address; null where
    /// the export has no kv_write_entries, the memory is not plain addresses, or ONNX Runtime's allocator cannot hand out
    /// one block that large (then each tensor is allocated alone, <see cref="CreateTensor"/>).
    /// </summary>
    public (OrtValue[] Values, IDisposable Owner, nint Address)? CreateBlock(TensorElementType type, long[] shape, int count)
    {
        if (_writeEntries is null) return null;
        var bytes = shape.Aggregate(1L, (a, d) => a * d) * DeviceBuffer.ElementSize(type);
        if (Capture is not null)
        {
            var buffer = new DeviceBuffer(MemoryInfo, Capture.DeviceId, bytes * count);
            return ([.. Enumerable.Range(0, count).Select(t => buffer.Tensor(type, shape, t * bytes))], buffer, buffer.Address);
        }
        if (bytes * count > uint.MaxValue) return null;
        var block = Allocator.Allocate((uint)(bytes * count));
        var address = block.DangerousGetHandle();
        return ([.. Enumerable.Range(0, count).Select(t => OrtValue.CreateTensorValueWithData(MemoryInfo, type, shape, address + (nint)(t * bytes), bytes))],
            block, address);
    }

    public override KvStorage Allocate(ModelManifest manifest, int tensors, int rows, int slots)
    {
        var storage = new DeviceKvStorage(this, manifest, tensors, rows, slots);
        try
        {
            storage.Zero();
            return storage;
        }
        catch
        {
            storage.Dispose();   // an allocation left to its finalizer would free into an allocator disposed by then
            throw;
        }
    }

    /// <summary>kv_write: inputs from, to, cache.i, source.i (names as given); outputs updated.i bound to the caches.</summary>
    public void Write(string[] inputNames, OrtValue[] inputs, string[] outputNames, OrtValue[] outputs) =>
        Run(_write, inputNames, inputs, outputNames, outputs);

    /// <summary>kv_write_from_float: kv_write's bindings with float32 sources, their entries cast to this memory's KV type.</summary>
    public void WriteFromFloat(string[] inputNames, OrtValue[] inputs, string[] outputNames, OrtValue[] outputs) =>
        Run(_writeFromFloat.Value, inputNames, inputs, outputNames, outputs);

    /// <summary>kv_write_entries: <paramref name="inputs"/> are from, to, cache and source (the last two [entries, head_dim]
    /// views of a storage's one buffer), <paramref name="updated"/> the cache view itself, alone.</summary>
    public void WriteEntries(OrtValue[] inputs, OrtValue[] updated) =>
        Run(_writeEntries ?? throw new InvalidOperationException("the export has no kv_write_entries graph"), EntriesInputNames, inputs,
            EntriesOutputNames, updated);

    private static readonly string[] EntriesInputNames = [KvOpsNames.EntriesFrom, KvOpsNames.EntriesTo, KvOpsNames.EntriesCache, KvOpsNames.EntriesSource];
    private static readonly string[] EntriesOutputNames = [KvOpsNames.EntriesUpdated];

    /// <summary>kv_zeros into <paramref name="destination"/>; <paramref name="shape"/> is a host int64[4] of its shape.</summary>
    public void Zero(OrtValue shape, OrtValue destination) => Run(_zeros, [KvOpsNames.ZerosShape], [shape], [KvOpsNames.Zeros], [destination]);

    /// <summary>kv_copy from <paramref name="source"/> into <paramref name="destination"/> (device or host).</summary>
    public void Copy(OrtValue source, OrtValue destination) => Run(_copy, [KvOpsNames.CopySource], [source], [KvOpsNames.Copy], [destination]);

    private void Run(InferenceSession session, string[] inputNames, OrtValue[] inputs, string[] outputNames, OrtValue[] outputs)
    {
        try
        {
            session.Run(_runOptions, inputNames, inputs, outputNames, outputs);
        }
        catch (OnnxRuntimeException e)
        {
            throw new CondensaException($"device KV edit failed ({e.Message}).", e);
        }
    }

    public void Dispose()
    {
        _write.Dispose();
        _writeEntries?.Dispose();
        _zeros.Dispose();
        _copy.Dispose();
        if (_writeFromFloat.IsValueCreated) _writeFromFloat.Value.Dispose();
        Allocator.Dispose();
        if (!ReferenceEquals(MemoryInfo, OrtMemoryInfo.DefaultInstance)) MemoryInfo.Dispose();
        _runOptions.Dispose();
    }
}
