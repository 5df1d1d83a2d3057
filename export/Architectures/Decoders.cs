namespace Condensa.Export;

/// <summary>The supported architectures (config.json's <c>architectures[0]</c>) and their graph builders.</summary>
internal static class Decoders
{
    private static readonly Dictionary<string, Func<HfConfig, DecoderWeights, LlamaDecoder>> Table = new()
    {
        ["LlamaForCausalLM"] = (c, w) => new LlamaDecoder(c, w),
        ["MistralForCausalLM"] = (c, w) => new MistralDecoder(c, w),
        ["Qwen2ForCausalLM"] = (c, w) => new Qwen2Decoder(c, w),
        ["Qwen3ForCausalLM"] = (c, w) => new Qwen3Decoder(c, w),
        ["Phi3ForCausalLM"] = (c, w) => new Phi3Decoder(c, w),
        ["Gemma2ForCausalLM"] = (c, w) => new Gemma2Decoder(c, w),
        ["Gemma3ForCausalLM"] = (c, w) => new Gemma3Decoder(c, w),
        [LckvSettings.Architecture] = (c, w) => new LckvDecoder(c, w),
    };

    public static IReadOnlyCollection<string> Supported => Table.Keys;

    // The MLP activation each builder implements (LlamaDecoder.Activation and its overrides), by transformers' names:
    // SiLU ("swish" is transformers' alias of it), Gemma's GeLU with the tanh approximation.
    private static readonly string[] Silu = ["silu", "swish"];
    private static readonly Dictionary<string, string[]> Activations = new()
    {
        ["Gemma2ForCausalLM"] = ["gelu_pytorch_tanh"],
        ["Gemma3ForCausalLM"] = ["gelu_pytorch_tanh"],
    };

    /// <exception cref="ExportException">The architecture is not supported.</exception>
    public static void CheckSupported(HfConfig config)
    {
        if (!Table.ContainsKey(config.Architecture))
            throw new ExportException(
                $"Unsupported architecture '{config.Architecture}' in config.json; supported: {string.Join(", ", Table.Keys)}.");
        var implemented = Activations.GetValueOrDefault(config.Architecture, Silu);
        if (!implemented.Contains(config.Activation.Value))
            throw new ExportException(
                $"config.json: field '{config.Activation.Field}' is '{config.Activation.Value}'; {config.Architecture} exports with " +
                $"{string.Join(" or ", implemented)} only.");
    }

    public static LlamaDecoder Create(HfConfig config, DecoderWeights weights)
    {
        CheckSupported(config);
        return Table[config.Architecture](config, weights);
    }
}
