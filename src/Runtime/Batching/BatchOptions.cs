using Condensa.Runtime.Generation;

namespace Condensa.Runtime.Batching;

/// <summary>How a <see cref="ContinuousBatcher"/> runs: how many documents at once, and how each is generated.</summary>
public sealed record BatchOptions
{
    /// <summary>Rows of the KV cache, i.e. documents generated side by side. A decode pass over 8 rows costs little more
    /// than over one on a memory-bound CPU or GPU, so 8 is a good start; the cache holds 8 documents' KV.</summary>
    public int BatchSize { get; init; } = 8;

    /// <summary>Length, sampling, stop tokens and prefill chunk, exactly as in one-at-a-time generation.</summary>
    public GenerationOptions Generation { get; init; } = new();

    /// <summary>Prefill one chunk of a waiting prompt between decode passes instead of the whole prompt before the next pass:
    /// rows already answering keep getting a token per pass while a long prompt comes in (what a server wants for its
    /// inter-token latency), at the cost of more passes in all (a batch job keeps the default).</summary>
    public bool InterleavePrefill { get; init; }

    /// <summary>Grow the KV cache for a document's every token (prompt and <see cref="GenerationOptions.MaxNewTokens"/>) when
    /// it takes a row, instead of for its prompt alone and then a growth chunk at a time as it decodes: each growth copies
    /// every row's entries and, on cuda, retires every captured pass shape, which then is captured anew mid-decode. For a
    /// batch job on a model that captures its passes (<c>condensa extract</c> sets it there); where a regrowth is only a
    /// copy, or where requests ask for far more tokens than they use (a server's clients), the default keeps the memory.</summary>
    public bool ReserveMaxTokens { get; init; }

    /// <summary>Checks every field and names the first one out of range.</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Generation);
        if (BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "batch size must be >= 1");
        Generation.Validate();
    }
}
