namespace Condensa.Export;

/// <summary>
/// Qwen3ForCausalLM: the Llama graph (q/k/v and o biases only with attention_bias; an explicit head_dim) plus an RMSNorm
/// over each head of q and of k before RoPE (q_norm, k_norm: one [head_dim] weight each, shared by the heads). Sliding
/// windows as Qwen2 (use_sliding_window).
/// </summary>
internal sealed class Qwen3Decoder(HfConfig config, DecoderWeights weights) : LlamaDecoder(config, weights)
{
    /// <inheritdoc/>
    public override int? SlidingWindow => Config.SlidingWindow;

    /// <inheritdoc/>
    protected override bool NormsQueryKey => true;

    /// <inheritdoc/>
    protected override (string Q, string K) QueryKeyNorm(GraphBuilder b, string q, string k, int layer) =>
        (HeadNorm(b, "q_norm", q, Config.NumHeads, WeightMap.Layer(WeightMap.QNorm, layer)),
         HeadNorm(b, "k_norm", k, Config.NumKvHeads, WeightMap.Layer(WeightMap.KNorm, layer)));

    // x [B, S, heads·D] -> [B, S, heads, D] -> RMSNorm over D (float32 inside, as transformers computes it) -> [B, S, heads·D]
    private string HeadNorm(GraphBuilder b, string scope, string x, int heads, string weightName)
    {
        using var _ = b.Scope(scope);
        int headDim = Config.HeadDim;
        string weight = Weights.Tensor(b, weightName, headDim);                                              // [D]
        string perHead = b.Node("Reshape", [x, b.ConstInt64([0, 0, heads, headDim])], "heads/Reshape");     // [B, S, heads, D]
        string normed = b.Node("SimplifiedLayerNormalization", [perHead, weight], attributes:
            [Attr.Int("axis", -1), Attr.Float("epsilon", (float)Config.RmsNormEps), Attr.Int("stash_type", 1)]);   // [B, S, heads, D]
        return b.Node("Reshape", [normed, b.ConstInt64([0, 0, heads * headDim])], "flat/Reshape");          // [B, S, heads·D]
    }
}
