namespace Condensa.Export;

/// <summary>Qwen2ForCausalLM: the Llama graph with q/k/v biases (o_proj and the MLP have none).</summary>
internal sealed class Qwen2Decoder(HfConfig config, DecoderWeights weights) : LlamaDecoder(config, weights)
{
    /// <inheritdoc/>
    protected override bool QkvBias => true;
    /// <inheritdoc/>
    protected override bool OutputBias => false;
    /// <inheritdoc/>
    protected override bool MlpBias => false;
    /// <inheritdoc/>
    public override int? SlidingWindow => Config.SlidingWindow;
}
