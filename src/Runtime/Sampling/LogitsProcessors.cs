using System.Numerics.Tensors;

namespace Condensa.Runtime.Sampling;

/// <summary>
/// The sampling math as pure span functions: each transforms logits or probabilities in place and allocates
/// nothing. Filters work on probabilities and zero what they drop; <see cref="Normalize"/> rescales.
/// </summary>
public static class LogitsProcessors
{
    /// <summary>Hugging Face's repetition penalty: every distinct token of <paramref name="history"/> has its logit
    /// divided by <paramref name="penalty"/> when positive and multiplied by it when negative.</summary>
    /// <param name="logits">Logits, modified in place.</param>
    /// <param name="history">The sequence so far, prompt included.</param>
    /// <param name="penalty">The penalty; 1 leaves the logits unchanged.</param>
    /// <param name="seen">Scratch of logits.Length flags, all false on entry and on return.</param>
    public static void ApplyRepetitionPenalty(Span<float> logits, ReadOnlySpan<int> history, float penalty, Span<bool> seen) =>
        ApplyRepetitionPenalty(logits, history, [], penalty, seen);

    /// <summary>The repetition penalty over a history given in two parts (committed tokens, then drafted ones), so a
    /// speculative drafter or verifier need not copy the history to append its drafts.</summary>
    public static void ApplyRepetitionPenalty(Span<float> logits, ReadOnlySpan<int> history, ReadOnlySpan<int> recent, float penalty, Span<bool> seen)
    {
        if (penalty == 1f) return;
        Penalise(logits, history, penalty, seen);
        Penalise(logits, recent, penalty, seen);
        foreach (var token in history) seen[token] = false;
        foreach (var token in recent) seen[token] = false;
    }

    private static void Penalise(Span<float> logits, ReadOnlySpan<int> tokens, float penalty, Span<bool> seen)
    {
        foreach (var token in tokens)
        {
            if (seen[token]) continue;   // penalise each distinct token once
            seen[token] = true;
            var x = logits[token];
            logits[token] = x > 0 ? x / penalty : x * penalty;
        }
    }

    /// <summary>Writes softmax(logits / temperature) into <paramref name="probs"/>.</summary>
    public static void Softmax(ReadOnlySpan<float> logits, float temperature, Span<float> probs)
    {
        if (temperature <= 0) throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "temperature must be > 0 for sampling");
        TensorPrimitives.Divide(logits, temperature, probs);
        TensorPrimitives.SoftMax(probs, probs);
    }

    /// <summary>Keeps the <paramref name="k"/> largest probabilities (ties at the boundary all kept) and zeroes the rest.</summary>
    /// <param name="probs">Probabilities, modified in place.</param>
    /// <param name="k">How many to keep.</param>
    /// <param name="order">Scratch of at least probs.Length ints.</param>
    /// <param name="keys">Scratch of at least probs.Length floats.</param>
    public static void TopK(Span<float> probs, int k, Span<int> order, Span<float> keys)
    {
        if (k <= 0 || k >= probs.Length) return;
        var sorted = SortDescending(probs, order, keys);
        var threshold = probs[sorted[k - 1]];
        for (var i = 0; i < probs.Length; i++)
            if (probs[i] < threshold) probs[i] = 0f;
    }

    /// <summary>Nucleus filter: keeps the smallest set of most likely tokens whose total probability reaches
    /// <paramref name="p"/> (always at least the most likely token) and zeroes the rest.</summary>
    /// <param name="probs">Probabilities, modified in place.</param>
    /// <param name="p">Probability mass to keep.</param>
    /// <param name="order">Scratch of at least probs.Length ints.</param>
    /// <param name="keys">Scratch of at least probs.Length floats.</param>
    public static void TopP(Span<float> probs, float p, Span<int> order, Span<float> keys)
    {
        if (p >= 1f) return;
        var sorted = SortDescending(probs, order, keys);
        var total = TensorPrimitives.Sum(probs);
        var cumulative = 0.0;
        var keep = 0;
        while (keep < sorted.Length)
        {
            cumulative += probs[sorted[keep]];
            keep++;
            if (cumulative >= p * total) break;
        }
        for (var i = keep; i < sorted.Length; i++) probs[sorted[i]] = 0f;
    }

    /// <summary>Zeroes every probability below <paramref name="minP"/> times the largest.</summary>
    public static void MinP(Span<float> probs, float minP)
    {
        if (minP <= 0f) return;
        var threshold = minP * TensorPrimitives.Max(probs);
        for (var i = 0; i < probs.Length; i++)
            if (probs[i] < threshold) probs[i] = 0f;
    }

    /// <summary>Rescales non-negative weights to sum to 1.</summary>
    public static void Normalize(Span<float> probs)
    {
        var sum = TensorPrimitives.Sum(probs);
        if (!(sum > 0)) throw new InvalidOperationException("every token was filtered out; cannot sample");
        TensorPrimitives.Divide(probs, sum, probs);
    }

    /// <summary>Draws an index with probability proportional to its (non-negative) weight, by inverse CDF at
    /// <paramref name="uniform"/> in [0, 1) times the total weight; the weights need not be normalised.</summary>
    public static int DrawWeighted(ReadOnlySpan<float> weights, double uniform)
    {
        var total = 0.0;
        foreach (var w in weights) if (w > 0f) total += w;
        return Draw(weights, uniform * total);
    }

    /// <summary>Draws an index by inverse CDF at <paramref name="uniform"/>, which lies in [0, the sum of the weights): [0, 1) for
    /// probabilities.</summary>
    public static int Draw(ReadOnlySpan<float> probs, double uniform)
    {
        var cumulative = 0.0;
        var last = -1;
        for (var i = 0; i < probs.Length; i++)
        {
            if (probs[i] <= 0f) continue;
            cumulative += probs[i];
            last = i;
            if (uniform < cumulative) return i;
        }
        // Rounding can leave the total just under 1: the draw belongs to the last token with mass.
        return last >= 0 ? last : throw new InvalidOperationException("no token has probability mass");
    }

    private static ReadOnlySpan<int> SortDescending(ReadOnlySpan<float> probs, Span<int> order, Span<float> keys)
    {
        if (order.Length < probs.Length || keys.Length < probs.Length) throw new ArgumentException("scratch is smaller than probs");
        var indices = order[..probs.Length];
        var negated = keys[..probs.Length];
        for (var i = 0; i < indices.Length; i++) indices[i] = i;
        TensorPrimitives.Negate(probs, negated);   // ascending sort of -p = descending p
        negated.Sort(indices);
        return indices;
    }
}
