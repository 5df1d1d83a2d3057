using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Condensa.Runtime.Sampling;

namespace Condensa.Runtime.Generation;

/// <summary>
/// Plain (non-speculative) generation over a model (<see cref="IDecoder"/>): chunked prefill, then one token per
/// step. Knows token ids only. The model can be shared by many generators; each call owns its cache.
/// </summary>
public sealed class Generator
{
    private readonly IDecoder _model;

    /// <summary>Creates a generator for a loaded model.</summary>
    public Generator(IDecoder model) => _model = model ?? throw new ArgumentNullException(nameof(model));

    /// <summary>
    /// Streams the tokens generated after <paramref name="prompt"/>. With a <paramref name="cache"/> that already
    /// holds a conversation (batch of 1), the prompt is appended to it instead of starting over; on return the
    /// cache holds the prompt and every generated token but the last, which the caller feeds first next turn.
    /// </summary>
    public async IAsyncEnumerable<int> StreamAsync(IReadOnlyList<int> prompt, GenerationOptions options, GenerationStats? stats = null,
        KvCache? cache = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(options);
        if (prompt.Count == 0) throw new ArgumentException("prompt is empty", nameof(prompt));
        options.Validate();
        var ownsCache = cache is null;
        cache ??= _model.CreateCache(1);
        if (cache.BatchSize != 1) throw new ArgumentException("StreamAsync needs a cache of batch size 1", nameof(cache));
        stats ??= new GenerationStats();
        try
        {
            CheckContext(cache.Lengths[0] + prompt.Count, options.MaxNewTokens, cache.MaxCapacity);
            var sampler = new TokenSampler(options.Sampling, _model.Manifest.VocabSize);
            var history = new List<int>(prompt.Count + options.MaxNewTokens);
            history.AddRange(prompt);

            // 1) prefill in chunks; the last chunk's logits give the first token
            var next = await Task.Run(() => Prefill(cache, prompt, options, sampler, history, stats), cancellationToken).ConfigureAwait(false);
            var token = new int[1];
            for (var produced = 1; ; produced++)
            {
                // 2) report the token; stop on a stop token or the length limit
                stats.GeneratedTokens++;
                yield return next;
                if (options.StopTokenIds.Contains(next) || produced >= options.MaxNewTokens) break;
                cancellationToken.ThrowIfCancellationRequested();

                // 3) one decode step
                history.Add(next);
                token[0] = next;
                next = await Task.Run(() => DecodeStep(cache, token, sampler, history, stats), cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            stats.KvBytes = cache.UsedBytes;
            stats.KvBytesPerToken = cache.BytesPerToken;
            if (ownsCache) cache.Dispose();
        }
    }

    /// <summary>
    /// Generates for a batch of prompts of different lengths in one cache. Rows that finish early stop consuming
    /// tokens but keep their slot until the batch ends (continuous batching is the batch-job runner's job).
    /// </summary>
    public IReadOnlyList<GenerationResult> GenerateBatch(IReadOnlyList<IReadOnlyList<int>> prompts, GenerationOptions options,
        GenerationStats? stats = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(options);
        if (prompts.Count == 0) throw new ArgumentException("no prompts", nameof(prompts));
        options.Validate();
        var batch = prompts.Count;
        stats ??= new GenerationStats();
        using var cache = _model.CreateCache(batch);
        for (var b = 0; b < batch; b++)
        {
            if (prompts[b].Count == 0) throw new ArgumentException($"prompt {b} is empty", nameof(prompts));
            CheckContext(prompts[b].Count, options.MaxNewTokens, cache.MaxCapacity);
        }

        var vocab = _model.Manifest.VocabSize;
        var samplers = prompts.Select(_ => new TokenSampler(options.Sampling, vocab)).ToArray();
        var argmax = samplers.All(s => s.IsArgmax);   // then each step reads the greedy tokens, not the logits
        var histories = prompts.Select(p => new List<int>(p)).ToArray();
        var outputs = prompts.Select(_ => new List<int>()).ToArray();
        var finish = new FinishReason?[batch];
        var counts = new int[batch];

        // 1) prefill: chunks of each prompt side by side, rows padded to the longest chunk
        var clock = Stopwatch.StartNew();
        var next = ChunkedPrefill.Run(_model, cache, histories, samplers, options.PrefillChunk);
        stats.PromptTokens += prompts.Sum(p => p.Count);
        stats.PrefillTime += clock.Elapsed;

        // 2) decode: every unfinished row feeds its last token
        clock.Restart();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            for (var b = 0; b < batch; b++)
            {
                counts[b] = 0;
                if (finish[b] is not null) continue;
                outputs[b].Add(next[b]);
                histories[b].Add(next[b]);
                stats.GeneratedTokens++;
                if (options.StopTokenIds.Contains(next[b])) finish[b] = FinishReason.Stop;
                else if (outputs[b].Count >= options.MaxNewTokens) finish[b] = FinishReason.Length;
                else counts[b] = 1;
            }
            if (finish.All(f => f is not null)) break;
            if (argmax)
            {
                var greedy = _model.ForwardGreedy(cache, new ForwardInputs(next, counts, LogitsSelection.LastPerRow));
                for (var b = 0; b < batch; b++)
                    if (counts[b] == 1) next[b] = greedy[b];
                continue;
            }
            var logits = _model.Forward(cache, new ForwardInputs(next, counts, LogitsSelection.LastPerRow));
            for (var b = 0; b < batch; b++)
                if (counts[b] == 1) next[b] = samplers[b].Sample(logits.Slice(b * vocab, vocab), CollectionsMarshal.AsSpan(histories[b]));
        }
        stats.DecodeTime += clock.Elapsed;
        stats.KvBytes = cache.UsedBytes;
        stats.KvBytesPerToken = cache.BytesPerToken;
        return [.. outputs.Select((o, b) => new GenerationResult(o, finish[b]!.Value))];
    }

    private int Prefill(KvCache cache, IReadOnlyList<int> prompt, GenerationOptions options, TokenSampler sampler, List<int> history,
        GenerationStats stats)
    {
        var clock = Stopwatch.StartNew();
        ReadOnlySpan<float> logits = default;
        var chunk = new int[Math.Min(options.PrefillChunk, prompt.Count)];
        int[] count = [0];
        for (var start = 0; start < prompt.Count; start += chunk.Length)
        {
            count[0] = Math.Min(chunk.Length, prompt.Count - start);
            for (var j = 0; j < count[0]; j++) chunk[j] = prompt[start + j];
            logits = _model.Forward(cache, new ForwardInputs(chunk.AsSpan(0, count[0]), count, LogitsSelection.LastPerRow));
        }
        var next = sampler.Sample(logits, CollectionsMarshal.AsSpan(history));
        stats.PromptTokens += prompt.Count;
        stats.PrefillTime += clock.Elapsed;
        return next;
    }

    private int DecodeStep(KvCache cache, int[] token, TokenSampler sampler, List<int> history, GenerationStats stats)
    {
        var start = Stopwatch.GetTimestamp();
        var next = sampler.IsArgmax
            ? _model.ForwardGreedy(cache, new ForwardInputs(token, [1], LogitsSelection.LastPerRow))[0]
            : sampler.Sample(_model.Forward(cache, new ForwardInputs(token, [1], LogitsSelection.LastPerRow)), CollectionsMarshal.AsSpan(history));
        stats.DecodeTime += Stopwatch.GetElapsedTime(start);
        return next;
    }

    private static void CheckContext(int promptTokens, int maxNewTokens, int limit)
    {
        // The last generated token is never fed back, so prompt + maxNew - 1 slots suffice.
        if (promptTokens + maxNewTokens - 1 > limit)
            throw new CondensaException($"Context overflow: prompt of {promptTokens} tokens + {maxNewTokens} new tokens exceeds the " +
                $"context limit of {limit} tokens. Shorten the prompt or lower --max-tokens.");
    }
}
