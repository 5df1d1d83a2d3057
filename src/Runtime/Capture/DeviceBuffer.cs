using Condensa.Runtime.ExecutionProviders;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Condensa.Runtime.Capture;

/// <summary>
/// CUDA device memory the host owns (cudaMalloc), at an address that never changes while the buffer lives. A captured
/// CUDA graph replays with the addresses it was captured with, so its inputs and outputs must live in such buffers, not
/// in ONNX Runtime's arena, which hands freed blocks to whoever asks next.
/// </summary>
internal sealed class DeviceBuffer : IDisposable
{
    private readonly OrtMemoryInfo _memoryInfo;

    public DeviceBuffer(OrtMemoryInfo memoryInfo, int deviceId, long bytes)
    {
        _memoryInfo = memoryInfo;
        CudaRuntime.SetDevice(deviceId);
        Address = CudaRuntime.Malloc(bytes);
        Bytes = bytes;
    }

    public nint Address { get; private set; }

    public long Bytes { get; }

    /// <summary>A tensor over <paramref name="byteOffset"/>.. of this buffer; the caller disposes it before the buffer.</summary>
    public OrtValue Tensor(TensorElementType type, long[] shape, long byteOffset = 0)
    {
        var bytes = shape.Aggregate(1L, (a, d) => a * d) * ElementSize(type);
        if (byteOffset < 0 || byteOffset + bytes > Bytes)
            throw new ArgumentOutOfRangeException(nameof(byteOffset), $"a tensor of {bytes} bytes at {byteOffset} overruns the buffer's {Bytes}.");
        return OrtValue.CreateTensorValueWithData(_memoryInfo, type, shape, Address + (nint)byteOffset, bytes);
    }

    /// <summary>Copies <paramref name="bytes"/> host bytes at <paramref name="host"/> to the start of the buffer.</summary>
    public void Upload(nint host, long bytes) => CudaRuntime.CopyToDevice(Address, host, Math.Min(bytes, Bytes));

    /// <summary>Copies the first <paramref name="bytes"/> of the buffer to <paramref name="host"/>.</summary>
    public void Download(nint host, long bytes) => CudaRuntime.CopyToHost(host, Address, Math.Min(bytes, Bytes));

    public void Dispose()
    {
        CudaRuntime.Free(Address);
        Address = 0;
    }

    internal static int ElementSize(TensorElementType type) => type switch
    {
        TensorElementType.Int64 or TensorElementType.Double => 8,
        TensorElementType.Float or TensorElementType.Int32 => 4,
        TensorElementType.Float16 or TensorElementType.BFloat16 => 2,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unsupported element type"),
    };
}
