using Condensa.Export.Onnx;

namespace Condensa.Export;

/// <summary>
/// The slots graph's attention for a float32 export, as MatMuls whose value product is cut along the cache's slots
/// (docs/ARCHITECTURE.md, "The slots graph"). ONNX Runtime's CUDA Attention runs float32 on its unfused kernel, whose
/// product of one query row's probabilities with the values is a GEMV that reduces over every slot and so spreads over
/// only D outputs a head: a plain step at 32 x 7,680 read its cache at ~40 % of an H100's bound (docs/benchmarks.md,
/// rounds 27-28). Viewing the C slots as N chunks turns it into N times as many shorter products, then a sum over N.
/// <code>
///   q·scale [B,Hq,S',D] -> MatMul(keyᵀ) [B,Hq,S',C] -> Add(bias [B,1,S',C]) -> Softmax
///   -> Reshape [B,Hq,S',N,C/N] -> Transpose [B,Hq,N,S',C/N] -> MatMul(value as [B,Hq,N,C/N,D]) [B,Hq,N,S',D] -> ReduceSum(N)
/// </code>
/// Hq is the KV heads and S' the G·S query rows a KV head serves (a grouped-query model's queries viewed per KV head,
/// as the slots graph's Attention takes them). N is 16 where 16 divides C (every cache of slots in 256s, with its 16
/// scratch slots) and 1 elsewhere, decided in the graph from the buffer's shape.
/// </summary>
internal static class ChunkedValueAttention
{
    /// <summary>The number of chunks the value product is cut into where it divides the slots.</summary>
    public const int Chunks = 16;

    /// <summary>The two views of the chunked value product, built once per graph from the cache's slots (the past buffers'
    /// shape, which the present ones share).</summary>
    public static ValueChunkShapes Shapes(GraphBuilder b, string pastKey0, int headDim)
    {
        using var _ = b.Scope("value_chunks");
        string slots = b.NodeN("Shape", "slots/Shape", [pastKey0], 1, [Attr.Int("start", 2), Attr.Int("end", 3)])[0]; // [1] = C
        string divides = b.Node("Equal", [b.Node("Mod", [slots, b.ConstInt64([Chunks])], "slots/Mod"), b.ConstInt64([0])],
            "divides/Equal");                                                                                      // [1]
        string chunks = b.Node("Where", [divides, b.ConstInt64([Chunks]), b.ConstInt64([1])], "chunks/Where");    // [1] = N
        string probs = b.Node("Concat", [b.ConstInt64([0, 0, 0]), chunks, b.ConstInt64([-1])], "probs_shape/Concat",
            Attr.Int("axis", 0));                                                                                  // [5] = (B, Hkv, S', N, -1)
        string value = b.Node("Concat", [b.ConstInt64([0, 0]), chunks, b.ConstInt64([-1, headDim])], "value_shape/Concat",
            Attr.Int("axis", 0));                                                                                  // [5] = (B, Hkv, N, -1, D)
        return new ValueChunkShapes(probs, value);
    }

    /// <summary>Attention of q [B, Hkv, S', D] over key and value [B, Hkv, C, D] under bias [B, 1, S', C] (float32 throughout),
    /// scores scaled by <paramref name="scale"/>. Returns [B, Hkv, S', D].</summary>
    public static string Build(GraphBuilder b, string q, string key, string value, string bias, float scale, ValueChunkShapes shapes)
    {
        using var _ = b.Scope("chunked_attention");
        var f32 = TensorProto.Types.DataType.Float;
        string qs = b.Node("Mul", [q, b.ConstScalar(scale, f32)], "q_scale/Mul");                                 // [B, Hkv, S', D]
        string keyT = b.Node("Transpose", [key], "key/Transpose", Attr.Ints("perm", 0, 1, 3, 2));                 // [B, Hkv, D, C]
        string scores = b.Node("MatMul", [qs, keyT], "scores/MatMul");                                            // [B, Hkv, S', C]
        scores = b.Node("Add", [scores, bias], "bias/Add");                                                       // [B, Hkv, S', C]
        string probs = b.Node("Softmax", [scores], "Softmax", Attr.Int("axis", -1));                             // [B, Hkv, S', C]
        probs = b.Node("Reshape", [probs, shapes.Probs], "probs/Reshape");                                        // [B, Hkv, S', N, C/N]
        probs = b.Node("Transpose", [probs], "probs/Transpose", Attr.Ints("perm", 0, 1, 3, 2, 4));               // [B, Hkv, N, S', C/N]
        string chunked = b.Node("Reshape", [value, shapes.Value], "value/Reshape");                               // [B, Hkv, N, C/N, D]
        string partial = b.Node("MatMul", [probs, chunked], "out/MatMul");                                        // [B, Hkv, N, S', D]
        return b.Node("ReduceSum", [partial, b.ConstInt64([2])], "out/ReduceSum", Attr.Int("keepdims", 0));      // [B, Hkv, S', D]
    }
}

/// <summary>The shapes that view a layer's probabilities and values in chunks of the slots.</summary>
/// <param name="Probs">int64 [5] = (B, Hkv, S', N, C/N) as Reshape takes it.</param>
/// <param name="Value">int64 [5] = (B, Hkv, N, C/N, D).</param>
internal sealed record ValueChunkShapes(string Probs, string Value);
