using System.Diagnostics;
using System.Runtime.InteropServices;
using Condensa.Runtime.Batching;
using Condensa.Runtime.Sampling;

namespace Condensa.Runtime.Generation;

/// <summary>
/// The decode loop: every generation (one stream, a batch of prompts, a batch job, a server's requests; plain or
/// speculative) runs here. Each row of one KV cache holds one document; a turn of the loop admits requests into free rows
/// in arrival order, then either prefills the oldest admitted document's prompt in chunks (its first token comes from the
/// last chunk's logits) or, once no document waits for its prompt, runs one <see cref="IDecodeStep"/> pass over every
/// decoding row. Committed tokens go through the stop and length rules here and nowhere else; a finished row is emptied
/// and refilled, so the batch never waits for its slowest row. Knows token ids only.
/// </summary>
public sealed class DecodeLoop : IDisposable
{
    /// <summary>The next request, or null (with <paramref name="ended"/> once there will be none); may block while
    /// <paramref name="idle"/> (no row holds a document).</summary>
    public delegate BatchRequest? RequestSource(bool idle, out bool ended);

    private readonly IDecoder _model;
    private readonly IDecodeStep _step;
    private readonly KvCache _cache;
    private readonly bool _keepsEntries;          // a conversation's cache: a finished row keeps its entries
    private readonly bool _interleavePrefill;     // one prompt chunk per turn, decode passes between chunks
    private readonly bool _reserveMaxTokens;      // a new document grows the cache for its every token, not its prompt alone
    private readonly RowPrefiller? _prefiller;    // batch > 1: prompts run on a batch-1 side cache
    private readonly RequestSource _source;
    private readonly GenerationOptions _defaults;
    private readonly BatchRow[] _rows;
    private readonly Queue<BatchRow> _waiting = new();   // admitted rows whose prompt is not in the cache yet, oldest first
    private readonly int _startGeneration;        // the cache's buffer generation when the loop took it
    private readonly int[] _one = [0];
    private readonly RowMove[] _moves;            // PackRows' moves, reused

    // The fewest tokens a document above the leading rows must still be allowed for PackRows to move it: a packing copies
    // the rows (and on cuda captures the smaller passes anew), a few milliseconds in all. Round 17 a, packing every time:
    // self-speculation at 64 x 7,680, whose rows finished within two tokens of each other, spent 35 ms of a 459 ms
    // generation outside its rounds, moving rows for their last step.
    private const int PackingRoom = 32;
    private int[] _chunk = [];
    private bool _exhausted;

    /// <summary>Creates a loop over <paramref name="cache"/> (one row per document; the caller owns it).</summary>
    /// <param name="model">The model.</param>
    /// <param name="step">How a decode pass advances the rows.</param>
    /// <param name="cache">The KV cache; its batch size is the number of rows.</param>
    /// <param name="source">Where requests come from.</param>
    /// <param name="defaults">Generation settings of requests that bring none.</param>
    /// <param name="stats">Counts and timings, added to as the loop runs.</param>
    /// <param name="keepsEntries">Leave a finished document's entries in the cache (a conversation continues in it next
    /// turn); batch 1 only. Otherwise a finished row is emptied for the next document.</param>
    /// <param name="interleavePrefill">Prefill one chunk per turn and let the decoding rows take a pass between chunks
    /// (<see cref="BatchOptions.InterleavePrefill"/>); otherwise a whole prompt goes in before the next pass.</param>
    /// <param name="reserveMaxTokens">A document taking a row grows the cache for its prompt and its every new token
    /// (<see cref="BatchOptions.ReserveMaxTokens"/>); otherwise for its prompt, and decoding grows it as rows lengthen.</param>
    public DecodeLoop(IDecoder model, IDecodeStep step, KvCache cache, RequestSource source, GenerationOptions defaults, GenerationStats stats,
        bool keepsEntries = false, bool interleavePrefill = false, bool reserveMaxTokens = false)
    {
        (_model, _step, _cache, _source, _defaults, Stats) = (model, step, cache, source, defaults, stats);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(step);
        ArgumentNullException.ThrowIfNull(cache);
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(defaults);
        ArgumentNullException.ThrowIfNull(stats);
        if (keepsEntries && cache.BatchSize != 1) throw new ArgumentException("only a batch-1 cache can keep a conversation", nameof(keepsEntries));
        (_keepsEntries, _interleavePrefill, _reserveMaxTokens) = (keepsEntries, interleavePrefill, reserveMaxTokens);
        _startGeneration = cache.Generation;
        _prefiller = cache.BatchSize > 1 ? new RowPrefiller(model) : null;
        _rows = [.. Enumerable.Range(0, cache.BatchSize).Select(b => new BatchRow(b))];
        _moves = new RowMove[cache.BatchSize];
    }

    /// <summary>Counts and timings of everything the loop ran.</summary>
    public GenerationStats Stats { get; }

    /// <summary>Documents finished by the last <see cref="Advance"/>, in completion order.</summary>
    public List<BatchResult> Finished { get; } = [];

    /// <summary>Runs the loop until the source has ended and every document is answered, yielding each result as it
    /// finishes.</summary>
    public IEnumerable<BatchResult> Results(CancellationToken cancellationToken)
    {
        // Advance answers false only with nothing finished, so every result comes out of this loop
        while (Advance(cancellationToken))
            foreach (var result in Finished) yield return result;
    }

    /// <summary>A source over requests known up front, taken in order.</summary>
    public static RequestSource Of(IReadOnlyList<BatchRequest> requests)
    {
        ArgumentNullException.ThrowIfNull(requests);
        var next = 0;
        return (bool idle, out bool ended) => (ended = next == requests.Count) ? null : requests[next++];
    }

    /// <summary>
    /// One turn: free rows take requests, then one document's prefill or one decode pass. Results land in
    /// <see cref="Finished"/>. Returns false once the source has ended and every row is empty.
    /// </summary>
    public bool Advance(CancellationToken cancellationToken)
    {
        Finished.Clear();
        cancellationToken.ThrowIfCancellationRequested();

        // 1) every free row takes the next request, in arrival order; one that cannot run is answered without a row.
        //    A live source blocks only while the whole batch is idle, so an empty queue never stalls running rows.
        Admit();
        if (_rows.All(r => r.IsEmpty)) return !_exhausted || Finished.Count > 0;

        // 2) the oldest waiting document's whole prompt, before any decode pass: a row still waiting for its prompt
        //    would sit the pass out. A document that ends at its first token frees its row at once. Interleaved, one
        //    chunk of it, and the decoding rows take their pass before the next chunk.
        if (_waiting.TryPeek(out var next))
        {
            var chunks = _interleavePrefill ? 1 : int.MaxValue;
            Prefill(next, chunks, cancellationToken);
            if (!next.IsPrefilling)
            {
                _waiting.Dequeue();
                if (Commit(next)) Finish(next);
            }
            if (!_interleavePrefill || !_rows.Any(r => r.IsDecoding)) return true;
        }

        // 3) cancelled documents leave before the pass (interleaved, also those part way through their prompt); their rows
        //    are free for the next turn
        foreach (var row in _rows)
        {
            if (row.IsEmpty || !row.Request!.Cancellation.IsCancellationRequested) continue;
            row.Finish = FinishReason.Cancelled;
            Finish(row);
        }
        if (Finished.Count > 0)
        {
            DropFreedWaiting();
            return true;
        }

        // 4) one decode pass over every row (all decoding now), packed into the leading rows; finished rows are answered
        //    and emptied
        var start = Stopwatch.GetTimestamp();   // the moves count as decode time
        PackRows();
        foreach (var row in _rows)
            if (row.IsDecoding) row.Room = row.Generation.MaxNewTokens - row.OutputCount;
        _step.Step(_model, _cache, _rows);
        Stats.DecodeTime += Stopwatch.GetElapsedTime(start);
        RecordKv();
        foreach (var row in _rows)
            if (row.IsDecoding && Commit(row)) Finish(row);
        return true;
    }

    private void Admit()
    {
        var (first, slots) = (_waiting.Count, 0);   // this turn's newcomers join the queue's end
        foreach (var row in _rows)
        {
            while (row.IsEmpty && !_exhausted)
            {
                var idle = _rows.All(r => r.IsEmpty);
                if (_source(idle && Finished.Count == 0, out _exhausted) is not { } request) break;
                var generation = request.Generation ?? _defaults;
                if (Refusal(request, generation, row.Index) is { } error) { Finished.Add(BatchResult.Failed(request, error)); continue; }
                if (request.Cancellation.IsCancellationRequested)
                {
                    // cancelled while queued (its client left): answered without taking a row or a prefill
                    Finished.Add(new BatchResult(request.Id, [], FinishReason.Cancelled, request.Prompt.Count, TimeSpan.Zero, null));
                    continue;
                }
                row.Admit(request, generation, new TokenSampler(generation.Sampling, _model.Manifest.VocabSize), Stopwatch.GetTimestamp());
                slots = Math.Max(slots, SlotsFor(row, generation));
                _waiting.Enqueue(row);
            }
        }
        if (_waiting.Count == first) return;
        // one growth for every newcomer (a job's first documents would otherwise grow the cache once for each longer one), then
        // the step hears of them: a draft model's cache follows the target's capacity
        _cache.Reserve(slots);
        foreach (var row in _waiting.Skip(first)) _step.RowStarted(_cache, row.Index);
    }

    /// <summary>
    /// The slots <paramref name="row"/>'s document needs before its prefill: its cached tokens, its prompt and the first token
    /// after it, and with <see cref="BatchOptions.ReserveMaxTokens"/> every new token and the padding of the longest captured
    /// pass too (<see cref="Admit"/> grows the cache to them at once). A prompt fed to a cache left to grow would regrow it
    /// chunk by chunk, each time copying every row's entries; reserved, the cache grows only when a longer document than any
    /// before arrives (an extraction job of ~1,700-token documents on the CPU, every token reserved: 3 regrowths instead of
    /// 5 and 8 % less prefill time, docs/ARCHITECTURE.md). Past the reservation decoding grows it a growth chunk at a time,
    /// which on cuda retires every captured pass shape mid-decode (<c>Generator</c> sizes a static batch's cache for every
    /// token at creation).
    /// </summary>
    private int SlotsFor(BatchRow row, GenerationOptions generation)
    {
        var tokens = _cache.Lengths[row.Index] + row.Request!.Prompt.Count;
        return _reserveMaxTokens ? tokens + generation.MaxNewTokens + _model.LongestCapturedPass : tokens + 1;
    }

    /// <summary>
    /// Moves decoding documents from rows past the first P into empty rows below them, P the power of two at or above the
    /// rows that hold documents (all of them when rows fill as fast as they free up): a pass reads every slot of every
    /// row it covers, and the model runs it over the leading rows through the last one with tokens (rounded up to a power
    /// of two, DecoderModel.PassRows), so once a static batch's first documents finish, its last ones cost what a batch of
    /// them would instead of the whole batch (docs/ARCHITECTURE.md, "Passes over the leading rows"). The moves copy their
    /// rows' entries in one go (on cuda, one run per copy of 64 separate ones cost 22 ms of a 150 ms generation at 64 x
    /// 1,024); a document still waiting for its prompt stays. Documents within <see cref="PackingRoom"/> tokens of their
    /// length limit are left where they are: the few passes they have left would not earn back the copy.
    /// </summary>
    private void PackRows()
    {
        var occupied = 0;
        foreach (var row in _rows) occupied += row.IsEmpty ? 0 : 1;
        var lead = KvCache.LeadingRows(occupied, _rows.Length);
        var room = 0;
        for (var b = lead; b < _rows.Length; b++)
            if (_rows[b].IsDecoding) room = Math.Max(room, _rows[b].Generation.MaxNewTokens - _rows[b].OutputCount);
        if (room < PackingRoom) return;
        var (free, count) = (0, 0);
        for (var from = _rows.Length - 1; from >= lead; from--)
        {
            if (!_rows[from].IsDecoding) continue;
            // fewer than lead documents sit below lead while this one is above it, so an empty row is there
            while (!_rows[free].IsEmpty) free++;
            _moves[count++] = new RowMove(from, free);
            _rows[from].MoveTo(_rows[free]);
        }
        if (count == 0) return;
        var moves = _moves.AsSpan(0, count);
        _cache.MoveRows(moves);   // one copy of every moved row's entries
        _step.RowsMoved(_cache, moves);
        Stats.RowMoves += count;
    }

    // Rows freed while waiting for (the rest of) their prompt leave the prefill queue, which keeps its order.
    private void DropFreedWaiting()
    {
        for (var n = _waiting.Count; n > 0; n--)
        {
            var row = _waiting.Dequeue();
            if (!row.IsEmpty) _waiting.Enqueue(row);
        }
    }

    /// <summary>Feeds up to <paramref name="chunks"/> chunks of <paramref name="row"/>'s prompt; after the last one, samples
    /// its first token into <see cref="BatchRow.Emitted"/> (the row is decoding then).</summary>
    private void Prefill(BatchRow row, int chunks, CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        var prompt = row.Request!.Prompt;
        var size = row.Generation.PrefillChunk;
        if (_chunk.Length < size) _chunk = new int[size];
        if (row.Prefilled == 0) _prefiller?.Begin(_cache, row.Index);
        var logits = ReadOnlySpan<float>.Empty;
        for (var fed = 0; fed < chunks && row.IsPrefilling; fed++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var n = Math.Min(size, prompt.Count - row.Prefilled);
            for (var j = 0; j < n; j++) _chunk[j] = prompt[row.Prefilled + j];
            logits = FeedChunk(row.Index, _chunk.AsSpan(0, n));   // [vocab] of the chunk's last token
            row.Prefilled += n;
            Stats.PromptTokens += n;
        }
        if (!row.IsPrefilling)
        {
            row.Emitted.Clear();
            row.Emitted.Add(row.Sampler.Sample(logits, CollectionsMarshal.AsSpan(row.Tokens)));
        }
        Stats.PrefillTime += Stopwatch.GetElapsedTime(start);
        RecordKv();
    }

    // A batch-1 cache takes the chunk directly; a larger batch runs it on the side cache (RowPrefiller says why).
    private ReadOnlySpan<float> FeedChunk(int row, ReadOnlySpan<int> chunk)
    {
        if (_prefiller is null)
        {
            _one[0] = chunk.Length;
            var logits = _model.Forward(_cache, new ForwardInputs(chunk, _one, LogitsSelection.LastPerRow));
            _step.PrefillPassed(_cache, row, row, chunk);
            return logits;
        }
        var sideLogits = _prefiller.Feed(_cache, chunk);
        _step.PrefillPassed(_prefiller.Side, 0, row, chunk);
        return sideLogits;
    }

    /// <summary>Appends the row's emitted tokens up to a stop token or the length limit; true when the row is finished.</summary>
    private bool Commit(BatchRow row)
    {
        var generation = row.Generation;
        foreach (var token in row.Emitted)
        {
            row.Tokens.Add(token);
            row.OutputCount++;
            Stats.GeneratedTokens++;
            row.Request!.OnToken?.Invoke(token);
            if (generation.StopTokenIds.Contains(token)) { row.Finish = FinishReason.Stop; return true; }
            if (row.OutputCount >= generation.MaxNewTokens) { row.Finish = FinishReason.Length; return true; }
        }
        return false;
    }

    private void Finish(BatchRow row)
    {
        var request = row.Request!;
        var output = row.Tokens.GetRange(row.OutputStart, row.OutputCount);
        Finished.Add(new BatchResult(request.Id, output, row.Finish, request.Prompt.Count, Stopwatch.GetElapsedTime(row.StartTimestamp), null)
        {
            DraftsProposed = row.DraftsProposed, DraftsAccepted = row.DraftsAccepted,
        });
        if (!_keepsEntries) _cache.RewindTo(row.Index, 0);   // the next document's prefill starts at slot 0
        row.Release();
    }

    // The most KV held at once: rows are emptied as documents finish, so the figure is taken while they hold it.
    private void RecordKv()
    {
        Stats.KvBytes = Math.Max(Stats.KvBytes, _cache.UsedBytes);
        Stats.KvBytesPerToken = _cache.BytesPerToken;
        Stats.KvReallocations = _cache.Generation - _startGeneration;
    }

    /// <summary>Why a request cannot run in <paramref name="row"/>, or null. The last generated token is never fed back,
    /// so the row's entries + prompt + max - 1 slots suffice.</summary>
    private string? Refusal(BatchRequest request, GenerationOptions generation, int row)
    {
        if (request.Prompt is null || request.Prompt.Count == 0) return "prompt is empty";
        var held = _cache.Lengths[row];
        if (request.Cached is { } cached && cached.Count != held)
            return $"the request names {cached.Count} cached tokens, but its row of the cache holds {held}";
        return ContextLimit.Overflow(held + request.Prompt.Count, generation.MaxNewTokens, _cache.MaxCapacity);
    }

    /// <inheritdoc />
    public void Dispose() => _prefiller?.Dispose();
}
