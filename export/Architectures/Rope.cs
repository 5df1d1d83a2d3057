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
    /// cos and sin caches [max positions, R/2] for the R rotated dims of a head (all D but for a partial rotary factor),
    /// computed here as transformers computes them at run time (position · inverse frequency in float32, then cos and sin,
    /// times the attention factor of longrope) and stored in the model dtype. RotaryEmbedding reads the row of each token's
    /// position id, so a step reads R values per token, not the table; it and GroupQueryAttention rotate the first R dims.
    /// </summary>
    public static (string Cos, string Sin) Tables(GraphBuilder b, RopeSettings rope, int headDim, int maxPositions,
        TensorProto.Types.DataType modelType, string prefix = "rotary")
    {
        float[] invFreq = [.. rope.InverseFrequencies(headDim).Select(f => (float)f)];
        int half = invFreq.Length;
        float scale = (float)rope.AttentionFactor;
        float[] Table(Func<float, float> f)
        {
            var table = new float[(long)maxPositions * half];
            for (int p = 0; p < maxPositions; p++)
                for (int i = 0; i < half; i++)
                    table[(long)p * half + i] = f(p * invFreq[i]) * scale;      // float32 product, as transformers' matmul
            return table;
        }
        long[] dims = [maxPositions, half];
        string cos = b.AddInitializer(prefix + "_cos_cache", modelType, dims, s => TensorBytes.Write(s, Table(MathF.Cos), modelType));
        string sin = b.AddInitializer(prefix + "_sin_cache", modelType, dims, s => TensorBytes.Write(s, Table(MathF.Sin), modelType));
        return (cos, sin);
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
