namespace Condensa.Export;

/// <summary>
/// Phi3ForCausalLM (Phi-3, Phi-3.5-mini, Phi-4-mini): the Llama graph over fused checkpoint tensors, q/k/v in one
/// <c>qkv_proj</c> ([q; k; v] rows) and gate/up in one <c>gate_up_proj</c> ([gate; up] rows), read as the separate
/// projections (<see cref="DecoderWeights.AddRowSlice"/>), which the graph merges again. Its partial rotary factor and
/// longrope tables come from <see cref="RopeSettings"/>; its sliding window, as Mistral's, goes to the host's masks.
/// </summary>
internal sealed class Phi3Decoder : LlamaDecoder
{
    public Phi3Decoder(HfConfig config, DecoderWeights weights) : base(config, weights)
    {
        long q = (long)config.NumHeads * config.HeadDim, kv = (long)config.NumKvHeads * config.HeadDim, inter = config.IntermediateSize;
        for (int layer = 0; layer < config.NumLayers; layer++)
        {
            string qkv = WeightMap.Layer(FusedQkv, layer), gateUp = WeightMap.Layer(FusedGateUp, layer);
            weights.AddRowSlice(WeightMap.Weight(WeightMap.QProj, layer), qkv, 0, q);
            weights.AddRowSlice(WeightMap.Weight(WeightMap.KProj, layer), qkv, q, kv);
            weights.AddRowSlice(WeightMap.Weight(WeightMap.VProj, layer), qkv, q + kv, kv);
            weights.AddRowSlice(WeightMap.Weight(WeightMap.GateProj, layer), gateUp, 0, inter);
            weights.AddRowSlice(WeightMap.Weight(WeightMap.UpProj, layer), gateUp, inter, inter);
        }
    }

    private const string FusedQkv = "model.layers.{i}.self_attn.qkv_proj.weight";
    private const string FusedGateUp = "model.layers.{i}.mlp.gate_up_proj.weight";

    /// <inheritdoc/>
    /// <remarks>A window that reaches past every position the export serves is none: Phi-4-mini's config says 262,144 of
    /// 131,072 positions, and keeping it would only cost the causal graph.</remarks>
    public override int? SlidingWindow => Config.SlidingWindow is { } window && window < ExactContext ? window : null;
}
