using Condensa.Export.Onnx;

namespace Condensa.Export;

/// <summary>
/// Rotary embeddings with transformers' rotate_half convention (x·cos + cat(-x2, x1)·sin over cat(freqs, freqs)),
/// applied by ONNX Runtime's fused RotaryEmbedding to q and k, one node each: the Split/Neg/Concat/Mul/Add
/// pattern it replaces cost 12 nodes a layer, and every node is a dispatch on a GPU provider.
/// </summary>
internal static class Rope
{
    /// <summary>
    /// cos and sin caches [rows, R/2] for the R rotated dims of a head (all D but for a partial rotary factor),
    /// computed here as transformers computes them at run time (position · inverse frequency in float32, then cos and sin,
    /// times the attention factor of longrope) and stored in the model dtype. RotaryEmbedding reads the row of each token's
    /// position id, so a step reads R values per token, not the table; it and GroupQueryAttention rotate the first R dims.
    /// One row per position of <paramref name="maxPositions"/>; a longrope export past its original context has the
    /// short-factor rows of positions 0..original-1 first, then the long-factor rows of positions 0..maxPositions-1
    /// (<see cref="RopeSettings.LongRowsOffset"/>), and <see cref="RopeSettings.PaddingRows"/> rows past the last position
    /// for padding entries. Memory: rows · R/2 values per table, two tables; Phi-4-mini's
    /// (4,096 + 131,072) · 48 · 2 fp16 values are 25 MiB (26 MB), in the weights file once, shared by the causal graphs, which read only the
    /// short rows.
    /// </summary>
    public static (string Cos, string Sin) Tables(GraphBuilder b, RopeSettings rope, int headDim, int maxPositions,
        TensorProto.Types.DataType modelType, string prefix = "rotary")
    {
        int? longOffset = rope.LongRowsOffset(maxPositions);
        float[] invFreq = [.. rope.InverseFrequencies(headDim).Select(f => (float)f)];
        float[] longFreq = longOffset is null ? [] : [.. rope.InverseFrequencies(headDim, longFactors: true).Select(f => (float)f)];
        int half = invFreq.Length, rows = rope.TableRows(maxPositions);
        float scale = (float)rope.AttentionFactor;
        float[] Table(Func<float, float> f)
        {
            var table = new float[(long)rows * half];
            for (int row = 0; row < rows; row++)
            {
                // row = position, or past the short rows of a longrope table, offset + position at the long factors
                var (p, freq) = row < (longOffset ?? int.MaxValue) ? (row, invFreq) : (row - longOffset!.Value, longFreq);
                for (int i = 0; i < half; i++)
                    table[(long)row * half + i] = f(p * freq[i]) * scale;     // float32 product, as transformers' matmul
            }
            return table;
        }
        long[] dims = [rows, half];
        string cos = b.AddInitializer(prefix + "_cos_cache", modelType, dims, s => TensorBytes.Write(s, Table(MathF.Cos), modelType));
        string sin = b.AddInitializer(prefix + "_sin_cache", modelType, dims, s => TensorBytes.Write(s, Table(MathF.Sin), modelType));
        return (cos, sin);
    }

    /// <summary>
    /// The position ids RotaryEmbedding reads in a longrope general graph past its original context: position_ids [B, S]
    /// plus <paramref name="offset"/> (= original, where the long rows start) when the pass's largest position id is at
    /// least original, as transformers switches a whole forward call to the long factors once its seq_len (largest
    /// position + 1) passes the original context. Computed once per graph and shared by every layer. The ReduceMax runs
    /// on float32 (exact to 2^24 positions), which every provider reduces on the device.
    /// <code>
    ///   position_ids -> Cast(f32) -> ReduceMax -> GreaterOrEqual(original) -> Cast(i64) -> Mul(original) -+
    ///   position_ids ----------------------------------------------------------------------------------- Add -> [B, S]
    /// </code>
    /// </summary>
    public static string LongPositions(GraphBuilder b, string positionIds, int offset)
    {
        using var _ = b.Scope("rotary_long");
        var f32 = TensorProto.Types.DataType.Float;
        string asFloat = b.Node("Cast", [positionIds], "positions/Cast", Attr.Int("to", (long)f32));                    // [B, S]
        string max = b.Node("ReduceMax", [asFloat], "max/ReduceMax", Attr.Int("keepdims", 0));                           // []
        string isLong = b.Node("GreaterOrEqual", [max, b.ConstScalar((float)offset, f32)], "long/GreaterOrEqual");       // [] bool
        string shift = b.Node("Cast", [isLong], "long/Cast", Attr.Int("to", (long)TensorProto.Types.DataType.Int64));   // [] 0 or 1
        shift = b.Node("Mul", [shift, b.ConstInt64([offset], scalar: true)], "shift/Mul");                              // [] 0 or original
        return b.Node("Add", [positionIds, shift], "positions/Add");                                                     // [B, S]
    }

    /// <summary>Rotates the first <paramref name="rotaryDim"/> dims of each head of x [B, S, heads·D] (before the heads are
    /// split; 0 = the whole head) at position_ids [B, S].</summary>
    public static string Apply(GraphBuilder b, string x, string positionIds, string cos, string sin, int heads, int rotaryDim = 0) =>
        b.NodeN("RotaryEmbedding", "RotaryEmbedding", [x, positionIds, cos, sin], 1,
            rotaryDim > 0
                ? [Attr.Int("interleaved", 0), Attr.Int("num_heads", heads), Attr.Int("rotary_embedding_dim", rotaryDim)]
                : [Attr.Int("interleaved", 0), Attr.Int("num_heads", heads)],
            domain: ContribOps.Domain)[0];                                                                     // [B, S, heads·D]
}
