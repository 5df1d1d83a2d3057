namespace Condensa;

/// <summary>
/// The input and output names of the KV-edit graphs (condensa.json "kv_ops"): the exporter declares them, a
/// device-resident cache binds its buffers by them. Tensor i is key, value per stored layer, in graph order.
/// </summary>
public static class KvOpsNames
{
    /// <summary>kv_write's int64 [entries, 3] inputs: each entry's (row, head, slot) in the source, and in the cache.</summary>
    public const string WriteFrom = "from", WriteTo = "to";

    /// <summary>kv_write's tensor i: the cache and the source (inputs), and the cache with the entries written (the output,
    /// bound to the cache itself).</summary>
    public static string WriteCache(int i) => $"cache.{i}";
    public static string WriteSource(int i) => $"source.{i}";
    public static string WriteUpdated(int i) => $"updated.{i}";

    /// <summary>kv_write_entries: int64 [entries, 1] inputs, each entry's index in the source's and the cache's buffer viewed as
    /// [entries, head_dim] (every tensor of a storage in one buffer: tensor, row, head, slot, outermost first); the cache,
    /// the source, and the cache with the entries written (bound to the cache itself).</summary>
    public const string EntriesFrom = "from", EntriesTo = "to", EntriesCache = "cache", EntriesSource = "source", EntriesUpdated = "updated";

    /// <summary>kv_zeros: a host int64[4] shape in, the zero-filled buffer out; kv_copy: a tensor in, its copy out.</summary>
    public const string ZerosShape = "shape", Zeros = "zeros", CopySource = "source", Copy = "copy";
}
