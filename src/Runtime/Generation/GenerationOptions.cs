using Condensa.Runtime.Sampling;

namespace Condensa.Runtime.Generation;

/// <summary>What to generate: length, sampling and when to stop.</summary>
public sealed record GenerationOptions
{
    /// <summary>Most tokens to generate per sequence.</summary>
    public int MaxNewTokens { get; init; } = 128;

    /// <summary>How each token is chosen.</summary>
    public SamplingOptions Sampling { get; init; } = SamplingOptions.Greedy;

    /// <summary>Tokens that end a sequence (every eos id of the model, for Llama 3 several). The stop token is
    /// reported but ends the stream.</summary>
    public IReadOnlyList<int> StopTokenIds { get; init; } = [];

    /// <summary>Prompt tokens per prefill pass (across the rows of a batch). A long prompt is fed in chunks so the attention
    /// mask and the activations stay [chunk, context] instead of [prompt, prompt]; 512 keeps a pass well above the per-call
    /// overhead while bounding the mask to a few MB.</summary>
    public int PrefillChunk { get; init; } = 512;

    /// <summary>Checks every field and names the first one out of range.</summary>
    public void Validate()
    {
        if (MaxNewTokens < 1) throw new ArgumentOutOfRangeException(nameof(MaxNewTokens), MaxNewTokens, "MaxNewTokens must be >= 1");
        if (PrefillChunk < 1) throw new ArgumentOutOfRangeException(nameof(PrefillChunk), PrefillChunk, "PrefillChunk must be >= 1");
        ArgumentNullException.ThrowIfNull(Sampling);
        Sampling.Validate();
    }
}
