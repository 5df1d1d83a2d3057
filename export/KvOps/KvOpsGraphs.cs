using Condensa.Export.Onnx;

namespace Condensa.Export;

/// <summary>
/// The small graphs a device-resident KV cache is edited with (DESIGN.md §3), written beside every export. On a GPU
/// provider the cache's buffers never leave the device: new entries, tree compaction, regrowth and copies between
/// caches all run as ONNX Runtime graphs whose inputs and outputs are bound to those buffers, the output to the same
/// buffer as the input it updates (ScatterND writes in place when they coincide). Dims are symbolic, so one file
/// serves every batch size, capacity and chunk length.
/// </summary>
public static class KvOpsGraphs
{
    /// <summary>
    /// kv_write.onnx: for each of the 2 x stored-layer tensors i (key, value per layer, graph order),
    /// <c>updated.i = ScatterND(cache.i, to, GatherND(source.i, from))</c>: entry from[n] = (row, head, slot) of the
    /// source goes to to[n] of the cache. One run moves entries of every layer.
    /// </summary>
    public const string WriteFileName = "kv_write.onnx";

    /// <summary>
    /// kv_write_entries.onnx: <c>updated = ScatterND(cache, to, GatherND(source, from))</c> over buffers viewed as
    /// [entries, head_dim], where a storage keeps every tensor in one buffer: an entry's index counts (tensor, row, head,
    /// slot) outermost first, so one run moves the entries of every layer in two kernels where kv_write takes two a tensor
    /// (on cuda each node of an uncaptured run costs ~18 us: 568 us for demo-code's 16 tensors, docs/benchmarks.md round 12).
    /// </summary>
    public const string WriteEntriesFileName = "kv_write_entries.onnx";

    /// <summary>
    /// kv_write_from_float.onnx, beside a half-precision export: kv_write's inputs and outputs with a float32 source,
    /// <c>updated.i = ScatterND(cache.i, to, Cast(GatherND(source.i, from)))</c>. It seeds a half-precision copy of a float32
    /// model's self-speculation budget with the float32 target's own entries (docs/ARCHITECTURE.md, "Self-speculation at
    /// another precision").
    /// </summary>
    public const string WriteFromFloatFileName = "kv_write_from_float.onnx";

    /// <summary>kv_zeros.onnx: <c>zeros = ConstantOfShape(shape)</c> in the KV type, for fresh buffers (device memory
    /// starts as garbage, and a NaN in a masked slot would still poison the softmax).</summary>
    public const string ZerosFileName = "kv_zeros.onnx";

    /// <summary>kv_copy.onnx: <c>copy = Identity(source)</c>, bound to distinct buffers (one tensor, any shape).</summary>
    public const string CopyFileName = "kv_copy.onnx";

    /// <summary>Whether an export whose KV is <paramref name="kvType"/> gets <see cref="WriteFromFloatFileName"/>.</summary>
    internal static bool WritesFromFloat(TensorProto.Types.DataType kvType) =>
        kvType is TensorProto.Types.DataType.Float16 or TensorProto.Types.DataType.Bfloat16;

    /// <summary>Writes the graphs for <paramref name="tensors"/> KV tensors of <paramref name="kvType"/>: four, and
    /// kv_write_from_float for half-precision KV.</summary>
    internal static void Write(string outputDir, int tensors, TensorProto.Types.DataType kvType)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(tensors, 1);
        WriteGraph(BuildWrite(tensors, kvType), Path.Combine(outputDir, WriteFileName), "kv_write");
        if (WritesFromFloat(kvType))
            WriteGraph(BuildWrite(tensors, kvType, TensorProto.Types.DataType.Float), Path.Combine(outputDir, WriteFromFloatFileName), "kv_write_from_float");
        WriteGraph(BuildWriteEntries(kvType), Path.Combine(outputDir, WriteEntriesFileName), "kv_write_entries");
        WriteGraph(BuildZeros(kvType), Path.Combine(outputDir, ZerosFileName), "kv_zeros");
        WriteGraph(BuildCopy(kvType), Path.Combine(outputDir, CopyFileName), "kv_copy");
    }

    // sourceType: the source's element type where it differs from the cache's (the gathered entries are cast to it)
    private static GraphBuilder BuildWrite(int tensors, TensorProto.Types.DataType kvType, TensorProto.Types.DataType? sourceType = null)
    {
        var g = new GraphBuilder();
        var from = g.Input(KvOpsNames.WriteFrom, TensorProto.Types.DataType.Int64, "entries", 3);
        var to = g.Input(KvOpsNames.WriteTo, TensorProto.Types.DataType.Int64, "entries", 3);
        for (var i = 0; i < tensors; i++)
        {
            var cache = g.Input(KvOpsNames.WriteCache(i), kvType, "batch", "kv_heads", "capacity", "head_dim");
            var source = g.Input(KvOpsNames.WriteSource(i), sourceType ?? kvType, "source_batch", "kv_heads", "source_slots", "head_dim");
            var entries = g.Node("GatherND", [source, from], $"gather.{i}");                        // [entries, head_dim]
            if (sourceType is not null) entries = g.Node("Cast", [entries], $"cast.{i}", Attr.Int("to", (long)kvType));
            g.NamedNode("ScatterND", [cache, to, entries], $"scatter.{i}", KvOpsNames.WriteUpdated(i));
            g.Output(KvOpsNames.WriteUpdated(i), kvType, "batch", "kv_heads", "capacity", "head_dim");
        }
        return g;
    }

    private static GraphBuilder BuildWriteEntries(TensorProto.Types.DataType kvType)
    {
        var g = new GraphBuilder();
        var from = g.Input(KvOpsNames.EntriesFrom, TensorProto.Types.DataType.Int64, "entries", 1);
        var to = g.Input(KvOpsNames.EntriesTo, TensorProto.Types.DataType.Int64, "entries", 1);
        var cache = g.Input(KvOpsNames.EntriesCache, kvType, "cache_entries", "head_dim");
        var source = g.Input(KvOpsNames.EntriesSource, kvType, "source_entries", "head_dim");
        var entries = g.Node("GatherND", [source, from], "gather");                                      // [entries, head_dim]
        g.NamedNode("ScatterND", [cache, to, entries], "scatter", KvOpsNames.EntriesUpdated);
        g.Output(KvOpsNames.EntriesUpdated, kvType, "cache_entries", "head_dim");
        return g;
    }

    private static GraphBuilder BuildZeros(TensorProto.Types.DataType kvType)
    {
        var g = new GraphBuilder();
        var shape = g.Input(KvOpsNames.ZerosShape, TensorProto.Types.DataType.Int64, 4);
        var zero = new TensorProto { DataType = (int)kvType, Dims = { 1 }, RawData = Google.Protobuf.ByteString.CopyFrom(TensorBytes.Encode([0f], kvType)) };
        g.NamedNode("ConstantOfShape", [shape], "zeros", KvOpsNames.Zeros, Attr.Tensor("value", zero));
        g.Output(KvOpsNames.Zeros, kvType, "d0", "d1", "d2", "d3");
        return g;
    }

    private static GraphBuilder BuildCopy(TensorProto.Types.DataType kvType)
    {
        var g = new GraphBuilder();
        var source = g.Input(KvOpsNames.CopySource, kvType, "d0", "d1", "d2", "d3");
        g.NamedNode("Identity", [source], "copy", KvOpsNames.Copy);
        g.Output(KvOpsNames.Copy, kvType, "d0", "d1", "d2", "d3");
        return g;
    }

    private static void WriteGraph(GraphBuilder graph, string path, string name) => OnnxWriter.Write(graph, path, dataFileName: null, name);
}
