namespace Condensa.Runtime.Kv;

/// <summary>Where a model's KV tensors live: creates the storage of caches and of a pass's outputs.</summary>
internal abstract class KvMemory
{
    /// <summary>Pinned host arrays, for the CPU provider (and any provider when host residence is asked for).</summary>
    public static KvMemory Host { get; } = new HostKvMemory();

    /// <summary>Whether storage lives in device memory.</summary>
    public abstract bool OnDevice { get; }

    /// <summary>CUDA graph capture of the model's passes, or null (see <see cref="Capture.GraphCapture"/>).</summary>
    public virtual Capture.GraphCapture? Capture => null;

    /// <summary>Zero-filled storage of <paramref name="tensors"/> tensors of [rows, kvHeads, slots, headDim].</summary>
    public abstract KvStorage Allocate(ModelManifest manifest, int tensors, int rows, int slots);

    private sealed class HostKvMemory : KvMemory
    {
        public override bool OnDevice => false;

        public override KvStorage Allocate(ModelManifest manifest, int tensors, int rows, int slots) =>
            new HostKvStorage(manifest, tensors, rows, slots);
    }
}
