namespace Condensa.Runtime.ExecutionProviders;

/// <summary>Device options for a GPU execution provider. The CPU provider has no device and ignores them.</summary>
public sealed record ProviderOptions
{
    /// <summary>Which device (GPU index) the provider runs on.</summary>
    public int DeviceId { get; init; }

    /// <summary>Most bytes the provider's device arena may hold (CUDA's gpu_mem_limit); null = the provider's default.
    /// Only CUDA supports it.</summary>
    public long? MemoryLimitBytes { get; init; }

    /// <summary>
    /// Capture the pass as a device graph and replay it (CUDA graphs, WebGPU graph capture). Replay needs every input
    /// and output bound on the device at fixed addresses and shapes, i.e. a device-resident KV cache; with host
    /// buffers ONNX Runtime refuses the run. Supported by cuda and webgpu.
    /// </summary>
    public bool GraphCapture { get; init; }

    /// <summary>No options: device 0, default memory, no graph capture.</summary>
    public static ProviderOptions Default { get; } = new();
}
