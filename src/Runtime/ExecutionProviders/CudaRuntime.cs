using System.Runtime.InteropServices;

namespace Condensa.Runtime.ExecutionProviders;

/// <summary>
/// The few CUDA runtime calls a captured decode step needs (<see cref="Capture.GraphCapture"/>): device memory the host owns
/// at fixed addresses, and the copies of a step's inputs and logits. The library is the CUDA runtime ONNX Runtime's
/// CUDA provider already loaded (cudart 13 for ONNX Runtime 1.32), resolved on first use, so a CPU-only process never
/// touches it.
/// </summary>
internal static unsafe class CudaRuntime
{
    private const int HostToDevice = 1, DeviceToHost = 2, DeviceToDevice = 3;

    // cudart's file name per platform; ONNX Runtime 1.32's CUDA provider is built against CUDA 13, and any other major
    // version would be another runtime than the one the provider uses.
    private static readonly string[] LibraryNames = ["libcudart.so.13", "cudart64_13.dll"];

    private static readonly Lazy<Api> Functions = new(Load);

    /// <summary>Makes <paramref name="deviceId"/> the calling thread's device.</summary>
    public static void SetDevice(int deviceId) => Check(Functions.Value.SetDevice(deviceId), "cudaSetDevice");

    /// <summary>Allocates <paramref name="bytes"/> of device memory on the current device.</summary>
    public static nint Malloc(long bytes)
    {
        nint pointer;
        Check(Functions.Value.Malloc(&pointer, (nuint)Math.Max(bytes, 1)), $"cudaMalloc of {bytes} bytes");
        return pointer;
    }

    /// <summary>Frees memory of <see cref="Malloc"/> (null is ignored).</summary>
    public static void Free(nint pointer)
    {
        if (pointer != 0) Functions.Value.Free(pointer);   // a failure here (device lost at exit) has nothing left to save
    }

    /// <summary>
    /// Copies host bytes to the device and waits until they have landed, so a pass that starts next on ONNX Runtime's
    /// own stream reads them (cudaMemcpy from pageable memory may return before its DMA has finished).
    /// </summary>
    public static void CopyToDevice(nint device, nint host, long bytes)
    {
        if (bytes == 0) return;
        var api = Functions.Value;
        Check(api.Memcpy(device, host, (nuint)bytes, HostToDevice), "cudaMemcpy host to device");
        Check(api.StreamSynchronize(0), "cudaStreamSynchronize");
    }

    /// <summary>Copies device bytes to the host; returns once they are there.</summary>
    public static void CopyToHost(nint host, nint device, long bytes)
    {
        if (bytes == 0) return;
        Check(Functions.Value.Memcpy(host, device, (nuint)bytes, DeviceToHost), "cudaMemcpy device to host");
    }

    /// <summary>
    /// Does <paramref name="spans"/> in device memory, one strided copy each, and returns once they have landed. They go
    /// on the legacy default stream: ONNX Runtime's runs wait for their own stream before they return, so no pass is
    /// reading or writing the buffers while the copies run, and none starts before they end.
    /// </summary>
    public static void CopyOnDevice(ReadOnlySpan<Kv.KvSpan> spans)
    {
        var api = Functions.Value;
        foreach (var span in spans)
            Check(api.Memcpy2DAsync(span.Destination, (nuint)span.DestinationPitch, span.Source, (nuint)span.SourcePitch, (nuint)span.Width,
                (nuint)span.Height, DeviceToDevice, 0), "cudaMemcpy2DAsync device to device");
        Check(api.StreamSynchronize(0), "cudaStreamSynchronize");
    }

    private static void Check(int status, string what)
    {
        if (status == 0) return;
        var name = Marshal.PtrToStringAnsi(Functions.Value.GetErrorString(status)) ?? "unknown error";
        throw new CondensaException($"CUDA: {what} failed with error {status} ({name}).");
    }

    private static Api Load()
    {
        foreach (var name in LibraryNames)
        {
            if (!NativeLibrary.TryLoad(name, out var handle)) continue;
            return new Api
            {
                SetDevice = (delegate* unmanaged<int, int>)NativeLibrary.GetExport(handle, "cudaSetDevice"),
                Malloc = (delegate* unmanaged<nint*, nuint, int>)NativeLibrary.GetExport(handle, "cudaMalloc"),
                Free = (delegate* unmanaged<nint, int>)NativeLibrary.GetExport(handle, "cudaFree"),
                Memcpy = (delegate* unmanaged<nint, nint, nuint, int, int>)NativeLibrary.GetExport(handle, "cudaMemcpy"),
                Memcpy2DAsync = (delegate* unmanaged<nint, nuint, nint, nuint, nuint, nuint, int, nint, int>)NativeLibrary.GetExport(handle, "cudaMemcpy2DAsync"),
                StreamSynchronize = (delegate* unmanaged<nint, int>)NativeLibrary.GetExport(handle, "cudaStreamSynchronize"),
                GetErrorString = (delegate* unmanaged<int, nint>)NativeLibrary.GetExport(handle, "cudaGetErrorString"),
            };
        }
        throw new CondensaException($"CUDA: the CUDA runtime library ({LibraryNames[0]} on Linux, {LibraryNames[1]} on Windows) could not be " +
            "loaded; install the CUDA 13 runtime (see README, \"Running on an NVIDIA GPU\"), or run without graph capture (--graph-capture off).");
    }

    private sealed class Api
    {
        public delegate* unmanaged<int, int> SetDevice;
        public delegate* unmanaged<nint*, nuint, int> Malloc;
        public delegate* unmanaged<nint, int> Free;
        public delegate* unmanaged<nint, nint, nuint, int, int> Memcpy;
        public delegate* unmanaged<nint, nuint, nint, nuint, nuint, nuint, int, nint, int> Memcpy2DAsync;   // dst, dpitch, src, spitch, width, height, kind, stream
        public delegate* unmanaged<nint, int> StreamSynchronize;
        public delegate* unmanaged<int, nint> GetErrorString;
    }
}
