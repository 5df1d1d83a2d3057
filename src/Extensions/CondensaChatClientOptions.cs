using Condensa.Runtime;
using Condensa.Runtime.Sampling;
using Condensa.Speculative;

namespace Condensa.Extensions.AI;

/// <summary>Defaults of a <see cref="CondensaChatClient"/>; a call's <c>ChatOptions</c> override them field by field.</summary>
public sealed record CondensaChatClientOptions
{
    /// <summary>Sessions of a model loaded by <see cref="CondensaChatClient.Load"/> (providers, threads).</summary>
    public SessionSettings Session { get; init; } = new();

    /// <summary>Chat template name (llama2, llama3, mistral, chatml, qwen3, zephyr, phi3, phi4, gemma); null = the checkpoint's own.</summary>
    public string? Template { get; init; }

    /// <summary>False: replies without reasoning where the template can turn it off (Qwen3: the generation prompt gets an
    /// empty &lt;think&gt; block, as its enable_thinking=False writes); other templates ignore it.</summary>
    public bool Thinking { get; init; } = true;

    /// <summary>Most tokens per reply when the call sets no MaxOutputTokens; cut to what the context leaves.</summary>
    public int MaxOutputTokens { get; init; } = 512;

    /// <summary>Sampling when the call sets none of temperature, top-p, top-k or seed (greedy by default).</summary>
    public SamplingOptions Sampling { get; init; } = SamplingOptions.Greedy;

    /// <summary>Speculative decoding of every reply (prompt lookup, a draft model, self-speculation; chains or trees):
    /// the same text as plain decoding under greedy sampling, in fewer target passes when drafts are accepted.</summary>
    public SpeculationOptions Speculation { get; init; } = new();

    /// <summary>The draft model of <see cref="SpeculationMode.Draft"/> (same tokenizer as the target), or for
    /// <see cref="SpeculationMode.Self"/> optionally the target's checkpoint exported at another precision, which then runs the
    /// drafts (a float16 export for a float32 target on a GPU: <see cref="Speculation.CreateStep"/>). The caller owns it.</summary>
    public IDecoder? DraftModel { get; init; }

    /// <summary>Model id reported in responses; null = the export folder's name.</summary>
    public string? ModelId { get; init; }
}
