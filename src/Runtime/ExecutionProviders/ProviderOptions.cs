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
    /// Capture decode passes as device graphs and replay them (CUDA graphs; WebGPU graph capture). A replay launches a
    /// whole step at once instead of one kernel per node, which is what bounds a small batch's step on a GPU. It needs
    /// every input and output at fixed device addresses, so it needs a device-resident KV cache. null (the default):
    /// on for cuda with the KV cache on the device, off elsewhere; true or false force it (true for webgpu is ONNX
    /// Runtime's own capture, unchecked here).
    /// </summary>
    public bool? GraphCapture { get; init; }

    /// <summary>CUDA's sdpa_kernel: the attention kernels ONNX Runtime may pick (its AttentionBackend bits; 16 = the unfused
    /// one alone); null = its default. Set per session by the runtime (the multi-row causal graph's), not by users.</summary>
    internal int? AttentionKernels { get; init; }

    /// <summary>No options: device 0, default memory, graph capture where the provider supports it.</summary>
    public static ProviderOptions Default { get; } = new();
}
