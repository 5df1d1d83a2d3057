namespace Condensa;

/// <summary>
/// The input and output names of the KV-edit graphs (condensa.json "kv_ops"): the exporter declares them, a
/// device-resident cache binds its buffers by them. Tensor i is key, value per stored layer, in graph order.
/// </summary>
public static class KvOpsNames
{
    /// <summary>kv_write, int64 [entries, 3]: the (row, head, slot) of each entry in the source.</summary>
    public const string WriteFrom = "from";
    /// <summary>kv_write, int64 [entries, 3]: where each entry goes in the cache.</summary>
    public const string WriteTo = "to";
    /// <summary>kv_write input: cache tensor <paramref name="i"/>, which its output updates in place.</summary>
    public static string WriteCache(int i) => $"cache.{i}";
    /// <summary>kv_write input: source tensor <paramref name="i"/> the entries are gathered from.</summary>
    public static string WriteSource(int i) => $"source.{i}";
    /// <summary>kv_write output: cache tensor <paramref name="i"/> with the entries written; bound to the cache itself.</summary>
    public static string WriteUpdated(int i) => $"updated.{i}";

    /// <summary>kv_zeros input, a host int64[4]: the shape of the buffer to fill.</summary>
    public const string ZerosShape = "shape";
    /// <summary>kv_zeros output: the zero-filled buffer.</summary>
    public const string Zeros = "zeros";

    /// <summary>kv_copy input: the tensor to copy.</summary>
    public const string CopySource = "source";
    /// <summary>kv_copy output: the copy, bound to another buffer.</summary>
    public const string Copy = "copy";
}
