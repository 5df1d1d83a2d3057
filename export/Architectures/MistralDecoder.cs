namespace Condensa.Export;

/// <summary>
/// MistralForCausalLM: the Llama graph without biases. Its sliding window is not in the graph: it goes to
/// condensa.json and the host builds masks that respect it.
/// </summary>
internal sealed class MistralDecoder(HfConfig config, DecoderWeights weights) : LlamaDecoder(config, weights)
{
    /// <inheritdoc/>
    protected override bool QkvBias => false;
    /// <inheritdoc/>
    protected override bool OutputBias => false;
    /// <inheritdoc/>
    protected override bool MlpBias => false;
    /// <inheritdoc/>
    public override int? SlidingWindow => Config.SlidingWindow;
}
