namespace Condensa.Runtime;

/// <summary>Where a model's KV caches live.</summary>
public enum KvResidence
{
    /// <summary>On the device of a GPU provider, in host memory for the CPU provider.</summary>
    Auto,

    /// <summary>Always in host memory: every pass copies the bound past to the device (slow on a GPU; for comparison).</summary>
    Host,

    /// <summary>In memory owned by ONNX Runtime and edited only by graphs (kv_write, kv_zeros, kv_copy); on the CPU
    /// provider this runs the device code path in host memory, which is how the tests check it without a GPU.</summary>
    Device,
}
