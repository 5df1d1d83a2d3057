namespace Condensa.Export;

/// <summary>
/// Gemma3ForCausalLM (text): Gemma 2's layer (see <see cref="Gemma2Decoder"/>; soft-capping only where config.json sets
/// it) with q_norm and k_norm, Gemma's (1 + weight) RMSNorm over each head of q and k before RoPE, and a RoPE base of its
/// own for the sliding layers (rope_parameters.sliding_attention; the full layers use rope_parameters.full_attention).
/// </summary>
internal sealed class Gemma3Decoder(HfConfig config, DecoderWeights weights) : Gemma2Decoder(config, weights)
{
    private string[]? _localTables;   // the sliding layers' cos and sin, built once per graph

    /// <inheritdoc/>
    protected override bool NormsQueryKey => true;

    /// <inheritdoc/>
    protected override (string Q, string K) QueryKeyNorm(GraphBuilder b, string q, string k, int layer) =>
        (HeadNorm(b, "q_norm", q, Config.NumHeads, Weights.TensorPlusOne(b, WeightMap.Layer(WeightMap.QNorm, layer), Config.HeadDim)),
         HeadNorm(b, "k_norm", k, Config.NumKvHeads, Weights.TensorPlusOne(b, WeightMap.Layer(WeightMap.KNorm, layer), Config.HeadDim)));

    /// <inheritdoc/>
    protected override string[] RotaryTables(GraphBuilder b, AttentionContext ctx, int layer)
    {
        if (LayerWindow(layer) is null || Config.LocalRope is not { } local) return base.RotaryTables(b, ctx, layer);
        if (_localTables is null)
        {
            var (cos, sin) = Rope.Tables(b, local, Config.HeadDim, ExactContext, ModelType, "rotary_local");
            _localTables = [cos, sin];
        }
        return _localTables;
    }
}
