using System.Diagnostics;
using System.Runtime.InteropServices;
using Condensa.Runtime.Generation;
using Condensa.Runtime.Sampling;

namespace Condensa.Runtime.Batching;

/// <summary>
/// Continuous batching over one KV cache of N rows: each row holds one document; when a document finishes its row is
/// emptied (<see cref="KvCache.RewindTo(int, int)"/> to 0) and refilled with the next request, so the batch never waits
/// for its slowest row. Scheduling is fair: requests take free rows in arrival order, admitted documents are prefilled
/// oldest first (through <see cref="RowPrefiller"/>), and a decode pass (<see cref="IDecodeStep"/>) runs only once no
/// admitted document waits for its prompt, so no row sits out a pass while work waits. Results stream out in
/// completion order. Greedy output equals one-at-a-time generation for every document. Knows token ids only.
/// </summary>
public sealed class ContinuousBatcher
{
    private readonly IDecoder _model;
    private readonly IDecodeStep _step;

    /// <summary>Creates a batcher; <paramref name="step"/> defaults to one token per row per pass.</summary>
    public ContinuousBatcher(IDecoder model, IDecodeStep? step = null)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        _step = step ?? new PlainDecodeStep();
    }

    /// <summary>
    /// Generates every request, pulling the next one from <paramref name="requests"/> only when a row frees up (so the
    /// input can be streamed). A request that cannot run (empty prompt, prompt + max tokens over the context) is
    /// answered at once with an error result and the job goes on.
    /// </summary>
    public IEnumerable<BatchResult> Run(IEnumerable<BatchRequest> requests, BatchOptions options, GenerationStats? stats = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return RunIterator(requests, options, stats ?? new GenerationStats(), cancellationToken);
    }

    /// <summary>
    /// Serves a live <paramref name="requests"/> queue: requests added from any thread join the running batch at the
    /// next step, each with its own <see cref="BatchRequest.Generation"/> (else <paramref name="options"/>'s), and a
    /// cancelled request leaves at the next step, freeing its row. Waits while idle; returns once the queue is
    /// completed and every request answered. A request that cannot run is answered at once with an error result.
    /// </summary>
    public IEnumerable<BatchResult> Run(BatchQueue requests, BatchOptions options, GenerationStats? stats = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        BatchRequest? Take(bool idle, out bool ended) => requests.Take(idle, cancellationToken, out ended);
        return RunIterator(Take, options, stats ?? new GenerationStats(), cancellationToken);
    }

    /// <summary>The next request, or null (with <paramref name="ended"/> once there will be none); may block when <paramref name="idle"/>.</summary>
    private delegate BatchRequest? TakeRequest(bool idle, out bool ended);

    private IEnumerable<BatchResult> RunIterator(IEnumerable<BatchRequest> requests, BatchOptions options, GenerationStats stats,
        CancellationToken cancellationToken)
    {
        using var queue = requests.GetEnumerator();
        BatchRequest? Take(bool idle, out bool ended)
        {
            ended = !queue.MoveNext();
            return ended ? null : queue.Current ?? throw new ArgumentException("requests holds a null entry", nameof(requests));
        }
        foreach (var result in RunIterator(Take, options, stats, cancellationToken)) yield return result;
    }

    private IEnumerable<BatchResult> RunIterator(TakeRequest take, BatchOptions options, GenerationStats stats,
        CancellationToken cancellationToken)
    {
        using var cache = _model.CreateCache(options.BatchSize);
        using var prefiller = new RowPrefiller(_model, options.BatchSize);
        var rows = Enumerable.Range(0, options.BatchSize).Select(b => new BatchRow(b)).ToArray();
        var waiting = new Queue<BatchRow>();   // admitted rows whose prompt is not in the cache yet, oldest first
        var exhausted = false;
        var chunk = new int[options.Generation.PrefillChunk];
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();

            // 1) every free row takes the next request, in arrival order; one that cannot run is answered without a row.
            //    A live queue blocks only while the whole batch is idle, so an empty queue never stalls running rows.
            foreach (var row in rows)
            {
                while (row.IsEmpty && !exhausted)
                {
                    var idle = rows.All(r => r.IsEmpty);
                    if (take(idle, out exhausted) is not { } request) break;
                    var generation = request.Generation ?? options.Generation;
                    if (Refusal(request, generation, cache.MaxCapacity) is { } error) { yield return BatchResult.Failed(request, error); continue; }
                    if (request.Cancellation.IsCancellationRequested)
                    {
                        // cancelled while queued (its client left): answered without taking a row or a prefill
                        yield return new BatchResult(request.Id, [], FinishReason.Cancelled, request.Prompt.Count, TimeSpan.Zero, null);
                        continue;
                    }
                    row.Admit(request, generation, new TokenSampler(generation.Sampling, _model.Manifest.VocabSize), Stopwatch.GetTimestamp());
                    waiting.Enqueue(row);
                }
            }
            if (rows.All(r => r.IsEmpty))
            {
                if (exhausted) yield break;
                continue;
            }

            // 2) the oldest waiting document's whole prompt, before any decode pass: a row still waiting for its prompt
            //    would sit the pass out. A document that ends at its first token frees its row for step 1 at once.
            if (waiting.TryDequeue(out var next))
            {
                if (next.Generation.PrefillChunk > chunk.Length) chunk = new int[next.Generation.PrefillChunk];
                Prefill(cache, prefiller, next, chunk.AsSpan(0, next.Generation.PrefillChunk), stats, cancellationToken);
                if (Commit(next, next.Emitted, stats)) yield return Finish(cache, next);
                continue;
            }

            // 3) cancelled documents leave before the pass; their rows are free for step 1
            var cancelled = false;
            foreach (var row in rows)
            {
                if (!row.IsDecoding || !row.Request!.Cancellation.IsCancellationRequested) continue;
                row.Finish = FinishReason.Cancelled;
                cancelled = true;
                yield return Finish(cache, row);
            }
            if (cancelled) continue;

            // 4) one decode pass over every row (all decoding now); finished rows are answered and emptied
            var start = Stopwatch.GetTimestamp();
            foreach (var row in rows)
                if (row.IsDecoding) row.Room = row.Generation.MaxNewTokens - row.OutputCount;
            _step.Step(_model, cache, rows);
            stats.DecodeTime += Stopwatch.GetElapsedTime(start);
            foreach (var row in rows)
                if (row.IsDecoding && Commit(row, row.Emitted, stats))
                    yield return Finish(cache, row);
        }
    }

    /// <summary>Feeds <paramref name="row"/>'s prompt chunk by chunk and samples its first token into
    /// <see cref="BatchRow.Emitted"/>; the row is decoding afterwards.</summary>
    private static void Prefill(KvCache cache, RowPrefiller prefiller, BatchRow row, Span<int> chunk, GenerationStats stats,
        CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        var prompt = row.Request!.Prompt;
        prefiller.Begin(cache, row.Index);
        var logits = ReadOnlySpan<float>.Empty;
        while (row.IsPrefilling)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var n = Math.Min(chunk.Length, prompt.Count - row.Prefilled);
            for (var j = 0; j < n; j++) chunk[j] = prompt[row.Prefilled + j];
            logits = prefiller.Feed(cache, chunk[..n]);   // [vocab] of the chunk's last token
            row.Prefilled += n;
        }
        prefiller.End();
        row.Emitted.Clear();
        row.Emitted.Add(row.Sampler.Sample(logits, CollectionsMarshal.AsSpan(row.Tokens)));
        stats.PromptTokens += prompt.Count;
        stats.PrefillTime += Stopwatch.GetElapsedTime(start);
    }

    /// <summary>Appends emitted tokens to a row up to a stop token or the length limit; true when the row is finished.</summary>
    private static bool Commit(BatchRow row, List<int> emitted, GenerationStats stats)
    {
        var generation = row.Generation;
        foreach (var token in emitted)
        {
            row.Tokens.Add(token);
            row.OutputCount++;
            stats.GeneratedTokens++;
            row.Request!.OnToken?.Invoke(token);
            if (generation.StopTokenIds.Contains(token)) { row.Finish = FinishReason.Stop; return true; }
            if (row.OutputCount >= generation.MaxNewTokens) { row.Finish = FinishReason.Length; return true; }
        }
        return false;
    }

    private static BatchResult Finish(KvCache cache, BatchRow row)
    {
        var request = row.Request!;
        var output = row.Tokens.GetRange(request.Prompt.Count, row.OutputCount);
        var result = new BatchResult(request.Id, output, row.Finish, request.Prompt.Count, Stopwatch.GetElapsedTime(row.StartTimestamp), null);
        cache.RewindTo(row.Index, 0);   // the row is empty again; the next document's prefill starts at slot 0
        row.Release();
        return result;
    }

    /// <summary>Why a request cannot run, or null. The last generated token is never fed back, so prompt + max - 1 slots suffice.</summary>
    private static string? Refusal(BatchRequest request, GenerationOptions generation, int contextLimit)
    {
        if (request.Prompt is null || request.Prompt.Count == 0) return "prompt is empty";
        if (request.Prompt.Count + generation.MaxNewTokens - 1 > contextLimit)
            return $"Context overflow: prompt of {request.Prompt.Count} tokens + {generation.MaxNewTokens} new tokens exceeds the context limit " +
                   $"of {contextLimit} tokens.";
        return null;
    }
}
