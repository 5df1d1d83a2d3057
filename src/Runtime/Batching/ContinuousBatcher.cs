using System.Diagnostics;
using System.Runtime.InteropServices;
using Condensa.Runtime.Generation;
using Condensa.Runtime.Sampling;

namespace Condensa.Runtime.Batching;

/// <summary>
/// Continuous batching over one KV cache of N rows: each row holds one document; when a document finishes its row is
/// emptied (<see cref="KvCache.RewindTo(int, int)"/> to 0) and refilled with the next request, so the batch never waits
/// for its slowest row. Each iteration feeds one prefill chunk of one admitted document (through
/// <see cref="RowPrefiller"/>) and then one decode pass over every decoding row (<see cref="IDecodeStep"/>). Results
/// stream out in completion order. Greedy output equals one-at-a-time generation for every document. Knows token ids only.
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

    private IEnumerable<BatchResult> RunIterator(IEnumerable<BatchRequest> requests, BatchOptions options, GenerationStats stats,
        CancellationToken cancellationToken)
    {
        var generation = options.Generation;
        using var cache = _model.CreateCache(options.BatchSize);
        using var prefiller = new RowPrefiller(_model, options.BatchSize);
        var rows = Enumerable.Range(0, options.BatchSize).Select(b => new BatchRow(b)).ToArray();
        var refused = new List<BatchResult>();
        using var queue = requests.GetEnumerator();
        var exhausted = false;
        var chunk = new int[generation.PrefillChunk];
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();

            // 1) refill empty rows from the queue; a document that cannot run is answered without touching the cache
            foreach (var row in rows)
            {
                while (row.IsEmpty && !exhausted)
                {
                    if (!queue.MoveNext()) { exhausted = true; break; }
                    var request = queue.Current ?? throw new ArgumentException("requests holds a null entry", nameof(requests));
                    if (Refusal(request, generation, cache.MaxCapacity) is { } error) { refused.Add(BatchResult.Failed(request, error)); continue; }
                    row.Admit(request, new TokenSampler(generation.Sampling, _model.Manifest.VocabSize), Stopwatch.GetTimestamp());
                }
            }
            foreach (var result in refused) yield return result;
            refused.Clear();
            if (rows.All(r => r.IsEmpty)) yield break;

            // 2) one prefill chunk of one admitted document; its last chunk yields the first token
            if (PrefillChunk(cache, prefiller, rows, chunk, generation, stats) is { } first && Commit(first, first.Emitted, generation, stats))
                yield return Finish(cache, first);

            // 3) one decode pass over every decoding row; finished rows are answered and emptied
            if (!rows.Any(r => r.IsDecoding)) continue;
            var start = Stopwatch.GetTimestamp();
            foreach (var row in rows)
                if (row.IsDecoding) row.Room = generation.MaxNewTokens - row.OutputCount;
            _step.Step(_model, cache, rows);
            stats.DecodeTime += Stopwatch.GetElapsedTime(start);
            foreach (var row in rows)
                if (row.IsDecoding && Commit(row, row.Emitted, generation, stats))
                    yield return Finish(cache, row);
        }
    }

    /// <summary>Feeds the next chunk of the first prefilling row; returns the row when that chunk completed its prompt
    /// (with its first token in <see cref="BatchRow.Emitted"/>), else null.</summary>
    private static BatchRow? PrefillChunk(KvCache cache, RowPrefiller prefiller, BatchRow[] rows, int[] chunk, GenerationOptions generation,
        GenerationStats stats)
    {
        var row = prefiller.Row >= 0 ? rows[prefiller.Row] : rows.FirstOrDefault(r => r.IsPrefilling);
        if (row is null) return null;
        var start = Stopwatch.GetTimestamp();
        if (prefiller.Row < 0) prefiller.Begin(cache, row.Index);
        var prompt = row.Request!.Prompt;
        var n = Math.Min(chunk.Length, prompt.Count - row.Prefilled);
        for (var j = 0; j < n; j++) chunk[j] = prompt[row.Prefilled + j];
        var logits = prefiller.Feed(cache, chunk.AsSpan(0, n));
        row.Prefilled += n;
        if (row.IsPrefilling)
        {
            stats.PrefillTime += Stopwatch.GetElapsedTime(start);
            return null;
        }
        prefiller.End();
        row.Emitted.Clear();
        row.Emitted.Add(row.Sampler.Sample(logits, CollectionsMarshal.AsSpan(row.Tokens)));
        stats.PromptTokens += prompt.Count;
        stats.PrefillTime += Stopwatch.GetElapsedTime(start);
        return row;
    }

    /// <summary>Appends emitted tokens to a row up to a stop token or the length limit; true when the row is finished.</summary>
    private static bool Commit(BatchRow row, List<int> emitted, GenerationOptions generation, GenerationStats stats)
    {
        foreach (var token in emitted)
        {
            row.Tokens.Add(token);
            row.OutputCount++;
            stats.GeneratedTokens++;
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
