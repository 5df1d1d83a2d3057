namespace Condensa.Export;

/// <summary>
/// Gemma2ForCausalLM: the Llama graph with Gemma's differences. RMSNorm multiplies by 1 + weight (folded into the stored
/// weight); the embeddings are scaled by √hidden; the MLP's activation is GeLU with the tanh approximation; attention and
/// MLP each have a norm before and after (the one after normalises the block's output before the residual add); scores
/// are scaled by 1/√query_pre_attn_scalar and soft-capped, and so are the final logits (both from config.json, in
/// <see cref="Attention"/> and the causal graph's GroupQueryAttention). The layers layer_types names sliding attend within
/// the window inside the graph (<see cref="LayerWindow"/>).
/// </summary>
internal class Gemma2Decoder(HfConfig config, DecoderWeights weights) : LlamaDecoder(config, weights)
{
    private const string PreFeedForwardNorm = "model.layers.{i}.pre_feedforward_layernorm.weight";
    private const string PostFeedForwardNorm = "model.layers.{i}.post_feedforward_layernorm.weight";

    /// <inheritdoc/>
    protected override int? LayerWindow(int layer) =>
        Config.AttentionKinds is { } kinds && layer < kinds.Count && kinds[layer] == "sliding_attention" ? Config.SlidingWindow : null;

    /// <inheritdoc/>
    protected override Residual Layer(GraphBuilder b, AttentionContext ctx, Residual x, int layer)
    {
        var (h, sum) = AddRmsNorm(b, "input_layernorm", x, WeightMap.Layer(WeightMap.InputNorm, layer));     // [B, S, H] each
        string attn;
        using (b.Scope("attn")) attn = SelfAttention(b, ctx, h, layer);                                      // [B, S, H]
        attn = AddRmsNorm(b, "post_attention_layernorm", new Residual(attn), WeightMap.Layer(WeightMap.PostAttentionNorm, layer)).Normed;
        (h, sum) = AddRmsNorm(b, "pre_feedforward_layernorm", new Residual(sum, attn), WeightMap.Layer(PreFeedForwardNorm, layer));
        string mlp;
        using (b.Scope("mlp")) mlp = Mlp(b, h, layer);                                                       // [B, S, H]
        mlp = AddRmsNorm(b, "post_feedforward_layernorm", new Residual(mlp), WeightMap.Layer(PostFeedForwardNorm, layer)).Normed;
        return new Residual(sum, mlp);
    }

    /// <inheritdoc/>
    protected override string ScaleEmbedding(GraphBuilder b, string x) =>
        b.Node("Mul", [x, b.ConstScalar(MathF.Sqrt(Config.HiddenSize), ModelType)], "normalizer/Mul");         // [B, S, H]

    /// <inheritdoc/>
    protected override string NormWeight(GraphBuilder b, string name) => Weights.TensorPlusOne(b, name, Config.HiddenSize);

    /// <inheritdoc/>
    protected override bool SiluActivation => false;

    /// <inheritdoc/>
    protected override string Activation(GraphBuilder b, string gate) =>
        b.NodeN("FastGelu", "act_fn/FastGelu", [gate], 1, domain: ContribOps.Domain)[0];                     // [B, S, I]
}
