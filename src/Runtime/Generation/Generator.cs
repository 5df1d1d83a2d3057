using System.Runtime.CompilerServices;
using Condensa.Runtime.Batching;

namespace Condensa.Runtime.Generation;

/// <summary>
/// Generation for a caller holding prompts: one stream, or a batch of prompts side by side, through the
/// <see cref="DecodeLoop"/> with a decode step (plain by default; a speculative step from Condensa.Speculative's
/// <c>Speculation</c> decodes several tokens a pass). Knows token ids only. The model can be shared by many generators;
/// each call owns its cache unless it is given one. A step that keeps state per row serves one call at a time.
/// </summary>
public sealed class Generator
{
    private readonly IDecoder _model;
    private readonly IDecodeStep _step;

    /// <summary>Creates a generator for a loaded model; <paramref name="step"/> defaults to one token per pass.</summary>
    public Generator(IDecoder model, IDecodeStep? step = null)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        _step = step ?? new PlainDecodeStep();
    }

    /// <summary>
    /// Streams the tokens generated after <paramref name="prompt"/>. With a <paramref name="cache"/> that already
    /// holds a conversation (batch of 1), the prompt is appended to it instead of starting over; on return the
    /// cache holds the prompt and every generated token but the last, which the caller feeds first next turn.
    /// <paramref name="cachedTokens"/> names the tokens that cache holds (a draft model drafts from them).
    /// </summary>
    public async IAsyncEnumerable<int> StreamAsync(IReadOnlyList<int> prompt, GenerationOptions options, GenerationStats? stats = null,
        KvCache? cache = null, IReadOnlyList<int>? cachedTokens = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(options);
        if (prompt.Count == 0) throw new ArgumentException("prompt is empty", nameof(prompt));
        options.Validate();
        if (cache is { BatchSize: not 1 }) throw new ArgumentException("StreamAsync needs a cache of batch size 1", nameof(cache));
        var ownedCache = cache is null ? _model.CreateCache(1, PlannedCache(prompt.Count, options.MaxNewTokens)) : null;
        cache ??= ownedCache!;
        try
        {
            ContextLimit.Check(cache.Lengths[0] + prompt.Count, options.MaxNewTokens, cache.MaxCapacity);
            var tokens = new List<int>();
            var request = new BatchRequest(0, prompt, options, OnToken: tokens.Add, Cached: cachedTokens);
            using var loop = new DecodeLoop(_model, _step, cache, DecodeLoop.Of([request]), options, stats ?? new GenerationStats(), keepsEntries: true);
            var (sent, running) = (0, true);
            while (true)
            {
                // Turns run off the caller's thread; the tokens they commit are read here between turns.
                while (sent < tokens.Count) yield return tokens[sent++];
                if (!running) break;
                cancellationToken.ThrowIfCancellationRequested();
                running = await Task.Run(() => loop.Advance(cancellationToken), cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            ownedCache?.Dispose();
        }
    }

    /// <summary>
    /// A cache that holds the longest prompt and every new token from the start, plus the most a verification pass writes
    /// past a row's length (a captured pass's padding): a cache that grew on the way would copy all its entries to new
    /// buffers and retire its captured CUDA graphs in the middle of decoding (a 7,936-token prompt, a multiple of the
    /// growth chunk, grew at its first new token). Clamped to the model's context by the cache.
    /// </summary>
    private static KvCacheOptions PlannedCache(int longestPrompt, int maxNewTokens) =>
        new() { InitialCapacity = longestPrompt + maxNewTokens + Capture.GraphCapture.MaxCapturedTokens };

    /// <summary>
    /// Generates for a batch of prompts of different lengths in one cache, row b for prompt b; results in prompt order.
    /// </summary>
    public IReadOnlyList<GenerationResult> GenerateBatch(IReadOnlyList<IReadOnlyList<int>> prompts, GenerationOptions options,
        GenerationStats? stats = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(options);
        if (prompts.Count == 0) throw new ArgumentException("no prompts", nameof(prompts));
        options.Validate();
        using var cache = _model.CreateCache(prompts.Count, PlannedCache(prompts.Max(p => p?.Count ?? 0), options.MaxNewTokens));
        for (var b = 0; b < prompts.Count; b++)
        {
            if (prompts[b] is null || prompts[b].Count == 0) throw new ArgumentException($"prompt {b} is empty", nameof(prompts));
            ContextLimit.Check(prompts[b].Count, options.MaxNewTokens, cache.MaxCapacity);
        }
        var results = new GenerationResult[prompts.Count];
        using var loop = new DecodeLoop(_model, _step, cache, DecodeLoop.Of([.. prompts.Select((p, b) => new BatchRequest(b, p, options))]), options,
            stats ?? new GenerationStats());
        foreach (var result in loop.Results(cancellationToken))
            results[result.Id] = new GenerationResult(result.Tokens, result.FinishReason!.Value);
        return results;
    }
}
