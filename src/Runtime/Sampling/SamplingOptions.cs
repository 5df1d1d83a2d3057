namespace Condensa.Runtime.Sampling;

/// <summary>How the next token is chosen from the logits. The defaults are greedy decoding.</summary>
public sealed record SamplingOptions
{
    /// <summary>Softmax temperature; 0 means greedy (argmax).</summary>
    public float Temperature { get; init; }

    /// <summary>Keep only the k most likely tokens; 0 disables.</summary>
    public int TopK { get; init; }

    /// <summary>Keep the smallest set of most likely tokens whose probability reaches p; 1 disables.</summary>
    public float TopP { get; init; } = 1f;

    /// <summary>Drop tokens less likely than min_p times the most likely one; 0 disables.</summary>
    public float MinP { get; init; }

    /// <summary>Penalty for tokens already in the sequence (prompt included), as in Hugging Face's
    /// RepetitionPenaltyLogitsProcessor: positive logits are divided by it, negative ones multiplied; 1 disables.</summary>
    public float RepetitionPenalty { get; init; } = 1f;

    /// <summary>Seed of the random source; the same seed and options give the same tokens. Null = a random seed.</summary>
    public int? Seed { get; init; }

    /// <summary>True when no randomness is involved.</summary>
    public bool IsGreedy => Temperature <= 0f;

    /// <summary>Greedy decoding.</summary>
    public static SamplingOptions Greedy { get; } = new();

    /// <summary>Checks every field and names the first one out of range.</summary>
    public void Validate()
    {
        if (Temperature < 0 || float.IsNaN(Temperature)) throw new ArgumentOutOfRangeException(nameof(Temperature), Temperature, "temperature must be >= 0");
        if (TopK < 0) throw new ArgumentOutOfRangeException(nameof(TopK), TopK, "top-k must be >= 0");
        if (!(TopP > 0 && TopP <= 1)) throw new ArgumentOutOfRangeException(nameof(TopP), TopP, "top-p must be in (0, 1]");
        if (!(MinP >= 0 && MinP < 1)) throw new ArgumentOutOfRangeException(nameof(MinP), MinP, "min-p must be in [0, 1)");
        if (!(RepetitionPenalty > 0)) throw new ArgumentOutOfRangeException(nameof(RepetitionPenalty), RepetitionPenalty, "repetition penalty must be > 0");
    }
}
