using System.Diagnostics;
using Condensa.Runtime;
using Condensa.Runtime.Generation;
using Condensa.Runtime.Sampling;

namespace Condensa.Speculative;

/// <summary>
/// What chain and tree speculation share: the target cache, each row's committed tokens (the last of which is not
/// in the target cache yet), the target's samplers and the verifier's random source, the prefill, emitting tokens
/// under the stop rules, and the statistics.
/// </summary>
internal abstract class SpeculativeRunState : IDisposable
{
    protected SpeculativeRunState(IDecoder target, IReadOnlyList<IReadOnlyList<int>> prompts, GenerationOptions generation, SpeculativeStats stats)
    {
        generation.Validate();
        (Target, Generation, Stats) = (target, generation, stats);
        Vocab = target.Manifest.VocabSize;
        Cache = target.CreateCache(prompts.Count);
        Rows = [.. prompts.Select(p => new List<int>(p))];
        Outputs = [.. prompts.Select(_ => new List<int>())];
        Finished = new FinishReason?[prompts.Count];
        Samplers = [.. prompts.Select(_ => new TokenSampler(generation.Sampling, Vocab))];
        VerifiesByArgmax = Samplers.All(s => s.IsArgmax);
        Random = generation.Sampling.Seed is { } seed ? new Random(seed) : new Random();
        foreach (var prompt in prompts)
            if (prompt.Count + generation.MaxNewTokens - 1 > Cache.MaxCapacity)
                throw new CondensaException($"Context overflow: prompt of {prompt.Count} tokens + {generation.MaxNewTokens} new tokens " +
                    $"exceeds the context limit of {Cache.MaxCapacity} tokens. Shorten the prompt or lower --max-tokens.");
    }

    protected IDecoder Target { get; }
    protected GenerationOptions Generation { get; }
    protected SpeculativeStats Stats { get; }
    protected KvCache Cache { get; }
    protected List<int>[] Rows { get; }            // committed tokens per row: prompt + output
    protected List<int>[] Outputs { get; }         // generated tokens per row
    protected FinishReason?[] Finished { get; }
    protected TokenSampler[] Samplers { get; }     // target distributions, exactly as plain decoding applies them
    protected bool VerifiesByArgmax { get; }       // every sampler is a plain argmax: verify from the target's greedy tokens
    protected Random Random { get; }               // the verifier's uniform draws
    protected int Vocab { get; }

    public bool Done => Finished.All(f => f is not null);

    public IReadOnlyList<int> Output(int row) => Outputs[row];

    public IReadOnlyList<GenerationResult> Results() => [.. Outputs.Select((o, b) => new GenerationResult(o, Finished[b]!.Value))];

    /// <summary>One round of drafting, verification and commit for every unfinished row.</summary>
    public abstract void Round();

    /// <summary>Runs rounds until every row is finished and returns the results; disposes the run.</summary>
    public IReadOnlyList<GenerationResult> RunToEnd(CancellationToken cancellationToken)
    {
        using (this)
        {
            while (!Done)
            {
                cancellationToken.ThrowIfCancellationRequested();
                Round();
            }
            return Results();
        }
    }

    /// <summary>Streams row 0's tokens a round's worth at a time (rounds run off the caller's thread); disposes the run.</summary>
    public async IAsyncEnumerable<int> StreamAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using (this)
        {
            var sent = 0;
            while (true)
            {
                var output = Output(0);
                while (sent < output.Count) yield return output[sent++];
                if (Done) yield break;
                cancellationToken.ThrowIfCancellationRequested();
                await Task.Run(Round, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Chunked prefill of every prompt on the target (the drafter sees each pass), then the first token.</summary>
    protected void Prefill(Action<KvCache, int[]> observePass)
    {
        var clock = Stopwatch.StartNew();
        var first = ChunkedPrefill.Run(Target, Cache, Rows, Samplers, Generation.PrefillChunk, observePass);
        Stats.Generation.PromptTokens += Rows.Sum(r => r.Count);
        Stats.Generation.PrefillTime += clock.Elapsed;
        for (var b = 0; b < Rows.Length; b++) Emit(b, first[b]);
        RecordKv();
    }

    /// <summary>Appends a token to a row; false once the row is finished.</summary>
    protected bool Emit(int row, int token)
    {
        Rows[row].Add(token);
        Outputs[row].Add(token);
        Stats.Generation.GeneratedTokens++;
        if (Generation.StopTokenIds.Contains(token)) Finished[row] = FinishReason.Stop;
        else if (Outputs[row].Count >= Generation.MaxNewTokens) Finished[row] = FinishReason.Length;
        return Finished[row] is null;
    }

    /// <summary>Adds one round to the statistics.</summary>
    protected void RecordRound(int activeRows, int proposed, int accepted, TimeSpan draftTime, TimeSpan verifyTime)
    {
        Stats.Rounds++;
        Stats.RowRounds += activeRows;
        Stats.Proposed += proposed;
        Stats.Accepted += accepted;
        Stats.DraftTime += draftTime;
        Stats.VerifyTime += verifyTime;
        Stats.Generation.DecodeTime += draftTime + verifyTime;
        RecordKv();
    }

    private void RecordKv()
    {
        Stats.Generation.KvBytes = Cache.UsedBytes;
        Stats.Generation.KvBytesPerToken = Cache.BytesPerToken;
    }

    public void Dispose() => Cache.Dispose();
}
