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
        (HeadNorm(b, "q_norm", q, Config.NumHeads, Weights.Tensor(b, WeightMap.Layer(WeightMap.QNorm, layer), Config.HeadDim)),
         HeadNorm(b, "k_norm", k, Config.NumKvHeads, Weights.Tensor(b, WeightMap.Layer(WeightMap.KNorm, layer), Config.HeadDim)));
}
