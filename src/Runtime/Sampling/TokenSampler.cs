using System.Numerics.Tensors;

namespace Condensa.Runtime.Sampling;

/// <summary>
/// Picks the next token from logits with one <see cref="SamplingOptions"/>: repetition penalty, then greedy
/// argmax, or temperature softmax followed by top-k, top-p and min-p filters and a seeded draw. Owns its scratch,
/// so one instance per sequence (or batch row) samples without allocating.
/// </summary>
public sealed class TokenSampler
{
    private readonly SamplingOptions _options;
    private readonly Random _random;
    private readonly float[] _logits;
    private readonly float[] _probs;
    private readonly float[] _keys;
    private readonly int[] _order;
    private readonly bool[] _seen;

    /// <summary>Creates a sampler for a vocabulary of <paramref name="vocabSize"/> tokens.</summary>
    public TokenSampler(SamplingOptions options, int vocabSize)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(vocabSize, 1);
        options.Validate();
        _options = options;
        _random = SeededRandom.Create(options.Seed, SeededRandom.SamplerStream);
        _logits = new float[vocabSize];
        _probs = new float[vocabSize];
        _keys = new float[vocabSize];
        _order = new int[vocabSize];
        _seen = new bool[vocabSize];
    }

    /// <summary>Whether <see cref="Sample"/> is the plain argmax of the logits (greedy, no repetition penalty), so a loop
    /// may ask the model for its greedy tokens (<see cref="IDecoder.ForwardGreedy"/>) instead of the logits.</summary>
    public bool IsArgmax => _options.IsGreedy && _options.RepetitionPenalty == 1f;

    /// <summary>Chooses a token. <paramref name="history"/> (prompt + generated so far) feeds the repetition penalty.</summary>
    public int Sample(ReadOnlySpan<float> logits, ReadOnlySpan<int> history)
    {
        if (logits.Length != _logits.Length) throw new ArgumentException($"expected {_logits.Length} logits, got {logits.Length}", nameof(logits));
        Span<float> x = _logits;
        logits.CopyTo(x);
        LogitsProcessors.ApplyRepetitionPenalty(x, history, _options.RepetitionPenalty, _seen);
        if (_options.IsGreedy) return TensorPrimitives.IndexOfMax(x);

        Probabilities(x, _probs);
        return LogitsProcessors.Draw(_probs, _random.NextDouble());
    }

    /// <summary>Writes the filtered, normalised distribution the sampler draws from (after penalty and temperature)
    /// into <paramref name="probs"/>. Speculative verification needs exactly this distribution.</summary>
    public void Distribution(ReadOnlySpan<float> logits, ReadOnlySpan<int> history, Span<float> probs) =>
        Distribution(logits, history, [], probs);

    /// <summary>Like <see cref="Distribution(ReadOnlySpan{float}, ReadOnlySpan{int}, Span{float})"/> with the history in two
    /// parts: committed tokens, then tokens drafted after them.</summary>
    public void Distribution(ReadOnlySpan<float> logits, ReadOnlySpan<int> history, ReadOnlySpan<int> recent, Span<float> probs)
    {
        Span<float> x = _logits;
        logits.CopyTo(x);
        LogitsProcessors.ApplyRepetitionPenalty(x, history, recent, _options.RepetitionPenalty, _seen);
        if (_options.IsGreedy)
        {
            probs.Clear();
            probs[TensorPrimitives.IndexOfMax(x)] = 1f;
            return;
        }
        Probabilities(x, probs);
    }

    private void Probabilities(ReadOnlySpan<float> logits, Span<float> probs)
    {
        LogitsProcessors.Softmax(logits, _options.Temperature, probs);
        LogitsProcessors.TopK(probs, _options.TopK, _order, _keys);
        LogitsProcessors.TopP(probs, _options.TopP, _order, _keys);
        LogitsProcessors.MinP(probs, _options.MinP);
        LogitsProcessors.Normalize(probs);
    }
}
