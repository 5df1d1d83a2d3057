using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Condensa.Runtime;
using Condensa.Runtime.Sampling;

namespace Condensa.Speculative;

/// <summary>
/// Drafting by running a model autoregressively over its own cache: catch the cache up with the committed tokens it
/// has not seen, then draw γ tokens one pass at a time. The draft distributions use the same sampling settings as
/// the target, as speculative sampling requires. Subclasses decide what the cache is and how it is committed.
/// </summary>
public abstract class ModelDrafter : IDrafter
{
    // Prompt tokens per catch-up pass, as in plain prefill: bounds the [chunk, context] mask.
    private const int CatchUpChunk = 512;
    private readonly IDecoder _model;
    private readonly TokenSampler[] _samplers;
    private readonly Random _random;
    private readonly bool _sample;
    private readonly float[] _lastLogits;   // [batch, vocab] logits after each row's newest fed token
    private readonly float[] _scratch;      // [vocab]
    private readonly int[] _counts;
    private readonly int[] _step;           // [batch] the draft tokens of one pass

    /// <summary>Creates the drafter over <paramref name="model"/> with <paramref name="cache"/> as its KV.</summary>
    protected ModelDrafter(IDecoder model, KvCache cache, SamplingOptions sampling)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        Cache = cache;
        var vocab = model.Manifest.VocabSize;
        _samplers = [.. Enumerable.Range(0, cache.BatchSize).Select(_ => new TokenSampler(sampling, vocab))];
        // Draws are independent of the target's: a seed offset keeps runs reproducible without sharing a stream.
        _random = sampling.Seed is { } seed ? new Random(unchecked(seed * 31 + 17)) : new Random();
        _sample = !sampling.IsGreedy;
        _lastLogits = new float[cache.BatchSize * vocab];
        _scratch = new float[vocab];
        _counts = new int[cache.BatchSize];
        _step = new int[cache.BatchSize];
    }

    /// <summary>The draft's KV.</summary>
    protected KvCache Cache { get; }

    /// <summary>Tokens run through the draft model so far (catch-up and drafting), a measure of draft work.</summary>
    public long TokensFed { get; private set; }

    /// <inheritdoc />
    public abstract string Name { get; }

    /// <inheritdoc />
    public virtual void ObservePrefill(KvCache target, ReadOnlySpan<int> counts) { }

    /// <inheritdoc />
    public abstract void Commit(KvCache target, ReadOnlySpan<int> lengthsBefore, ReadOnlySpan<int> accepted, ReadOnlySpan<bool> active);

    /// <inheritdoc />
    public void Propose(IReadOnlyList<List<int>> rows, ReadOnlySpan<bool> active, int gamma, DraftBuffers output)
    {
        var vocab = output.Vocab;
        output.HasDistributions = _sample;
        // 1) feed what the draft has not seen yet; each row's last committed token comes last
        CatchUp(rows, active);
        for (var b = 0; b < rows.Count; b++) output.Counts[b] = active[b] ? gamma : 0;

        for (var i = 0; i < gamma; i++)
        {
            // 2) draw d_i for each active row from q_i
            for (var b = 0; b < rows.Count; b++)
            {
                if (!active[b]) continue;
                var drafted = output.Tokens.AsSpan(b * output.MaxGamma, i);
                var q = _sample ? output.Distributions.AsSpan((b * output.MaxGamma + i) * vocab, vocab) : _scratch.AsSpan();
                _samplers[b].Distribution(_lastLogits.AsSpan(b * vocab, vocab), CollectionsMarshal.AsSpan(rows[b]), drafted, q);
                output.Tokens[b * output.MaxGamma + i] = _sample ? Draw(q) : TensorPrimitives.IndexOfMax(q);
            }
            if (i == gamma - 1) break;   // d_γ needs no pass of its own: verification feeds it to the target

            // 3) one draft pass over the new drafts
            for (var b = 0; b < rows.Count; b++) _counts[b] = active[b] ? 1 : 0;
            for (var b = 0; b < rows.Count; b++) _step[b] = output.Tokens[b * output.MaxGamma + i];
            Remember(_model.Forward(Cache, new ForwardInputs(_step, _counts, LogitsSelection.LastPerRow)), _counts);
        }
    }

    /// <summary>Feeds every row's unseen committed tokens in chunks, keeping the logits after each row's last one.</summary>
    private void CatchUp(IReadOnlyList<List<int>> rows, ReadOnlySpan<bool> active)
    {
        while (true)
        {
            var seqLen = 0;
            for (var b = 0; b < rows.Count; b++)
            {
                _counts[b] = active[b] ? Math.Min(rows[b].Count - Cache.Lengths[b], CatchUpChunk) : 0;
                seqLen = Math.Max(seqLen, _counts[b]);
            }
            if (seqLen == 0) return;
            var tokens = new int[rows.Count * seqLen];
            for (var b = 0; b < rows.Count; b++)
                for (var j = 0; j < _counts[b]; j++) tokens[b * seqLen + j] = rows[b][Cache.Lengths[b] + j];
            Remember(_model.Forward(Cache, new ForwardInputs(tokens, _counts, LogitsSelection.LastPerRow)), _counts);
        }
    }

    private void Remember(ReadOnlySpan<float> logits, ReadOnlySpan<int> counts)
    {
        var vocab = _scratch.Length;
        foreach (var count in counts) TokensFed += count;
        for (var b = 0; b < counts.Length; b++)
            if (counts[b] > 0) logits.Slice(b * vocab, vocab).CopyTo(_lastLogits.AsSpan(b * vocab, vocab));
    }

    private int Draw(ReadOnlySpan<float> q) => LogitsProcessors.Draw(q, _random.NextDouble());

    /// <inheritdoc />
    public void Dispose()
    {
        Cache.Dispose();
        GC.SuppressFinalize(this);
    }
}
