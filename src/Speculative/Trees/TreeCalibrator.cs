using System.Diagnostics;
using System.Numerics.Tensors;
using Condensa.Runtime;
using Condensa.Runtime.Sampling;

namespace Condensa.Speculative.Trees;

/// <summary>
/// Measurements behind <see cref="TreeCalibration"/>: the positional acceptance vector, from target and draft
/// distributions over held-out sequences (teacher-forced, one pass each), and step times on a (batch, tokens, context) grid.
/// </summary>
public static class TreeCalibrator
{
    // Tokens per calibration pass: bounds the [chunk, vocab] logits and the [chunk, context] mask.
    private const int Chunk = 256;

    // Tokens of all rows in one pass that fills a timing cache to its context. 64 rows x 256 tokens a pass made calibrate
    // on demo-code-mha ask the CUDA provider for one 5.1 GB buffer (64 x 16 heads x 256 x 4,880 float32, the size of the
    // pass's attention scores) and fail on an 80 GB H100 (round 21); 2,048 tokens a pass keep that an eighth as large.
    internal const int FillTokensPerPass = 2048;

    /// <summary>
    /// p[k] = how often the (k+1)-th child drafted at a node is the one verification accepts, over every position from
    /// starts[i] on of each sequence. Greedy: the children are the draft's top-ranked tokens and the accepted one is the
    /// target's argmax. Sampling: children are drawn without replacement and verified by <see cref="TreeVerifier"/>
    /// (<paramref name="draws"/> times per position).
    /// </summary>
    /// <param name="target">The target model.</param>
    /// <param name="draft">The draft model (the target itself for self-speculation).</param>
    /// <param name="draftCache">Creates the draft's batch-1 cache (a budget for self-speculation).</param>
    /// <param name="sequences">Held-out token sequences.</param>
    /// <param name="starts">Per sequence, the first position whose next token is counted (past the prompt).</param>
    /// <param name="sampling">The sampling settings the calibration is for.</param>
    /// <param name="maxChildren">Length of the acceptance vector.</param>
    /// <param name="draws">Draws per position when sampling.</param>
    public static (double[] Acceptance, int Positions) MeasureAcceptance(IDecoder target, IDecoder draft, Func<KvCache> draftCache,
        IReadOnlyList<int[]> sequences, IReadOnlyList<int> starts, SamplingOptions sampling, int maxChildren = 8, int draws = 8)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxChildren, 1);
        var vocab = target.Manifest.VocabSize;
        var counts = new double[maxChildren];
        var positions = 0;
        var random = new Random(sampling.Seed ?? 7);
        var targetSampler = new TokenSampler(sampling, vocab);
        var draftSampler = new TokenSampler(sampling, vocab);
        var p = new float[vocab];
        var q = new float[vocab];
        var scratch = new float[2 * vocab];
        var tree = new TokenTree(maxChildren + 1);
        var path = new int[2];
        for (var s = 0; s < sequences.Count; s++)
        {
            var sequence = sequences[s];
            using var targetCache = target.CreateCache(1);
            using var draftKv = draftCache();
            var targetLogits = Logits(target, targetCache, sequence, starts[s]);   // [n, vocab]: row r predicts sequence[max(start, 1) + r]
            // a budget's draft goes at most its slack a pass, as it drafts: each position then sees the sinks, the window and at
            // most a slack's worth of tokens past it (a longer pass would show its later tokens a window of up to window + pass)
            var draftLogits = Logits(draft, draftKv, sequence, starts[s], draftKv.Budget?.Slack ?? Chunk);   // [n, vocab]
            for (var t = Math.Max(starts[s], 1); t < sequence.Length; t++)
            {
                var row = t - Math.Max(starts[s], 1);
                var history = sequence.AsSpan(0, t);
                targetSampler.Distribution(targetLogits.AsSpan(row * vocab, vocab), history, p);
                positions++;
                if (sampling.IsGreedy)
                {
                    var rank = Rank(draftLogits.AsSpan(row * vocab, vocab), TensorPrimitives.IndexOfMax(p), maxChildren);
                    if (rank >= 0) counts[rank]++;
                    continue;
                }
                draftSampler.Distribution(draftLogits.AsSpan(row * vocab, vocab), history, q);
                for (var d = 0; d < draws; d++)
                {
                    // One level of a tree: maxChildren drawn without replacement, verified like a real round.
                    tree.Reset(sequence[t - 1]);
                    q.CopyTo(scratch.AsSpan(vocab));
                    for (var k = 0; k < maxChildren; k++)
                    {
                        var weights = scratch.AsSpan(vocab, vocab);
                        if (TensorPrimitives.Sum(weights) <= 0) break;
                        var x = TreeVerifier.Draw(weights, random);
                        tree.Add(0, x);
                        weights[x] = 0;
                    }
                    var qs = new float[tree.Count * vocab];
                    q.CopyTo(qs);
                    var ps = new float[tree.Count * vocab];
                    for (var i = 0; i < tree.Count; i++) p.CopyTo(ps.AsSpan(i * vocab));
                    if (TreeVerifier.Verify(tree, ps, null, qs, vocab, random, scratch, path, out _) == 2) counts[path[1] - 1] += 1.0 / draws;
                }
            }
        }
        return ([.. counts.Select(c => positions == 0 ? 0 : c / positions)], positions);
    }

    /// <summary>Times one tree-shaped pass (<see cref="ChainAsTree"/>) of each (batch, tokens) after a prefill to each context; the median of
    /// <paramref name="repeats"/> runs. <paramref name="contextLimit"/> caps the context a sample records (a budget cache
    /// attends to at most its slots however long the sequence).</summary>
    public static List<StepTimeSample> MeasureStepTimes(IDecoder model, Func<int, KvCache> createCache, IReadOnlyList<int> batches,
        IReadOnlyList<int> contexts, IReadOnlyList<int> tokens, int repeats = 3, int? contextLimit = null) =>
        Measure(model, createCache, batches, contexts, tokens, repeats, contextLimit, TimedPass.Tree);

    /// <summary>Times a chain's verification as a chain-shaped tree runs it: S new tokens a row at the rows' next positions,
    /// every position's logits, no explicit positions or mask (on cuda a causal graph where one takes the pass, where a tree's
    /// pass of as many tokens takes the slots graph: docs/benchmarks.md, round 32).</summary>
    public static List<StepTimeSample> MeasureChainStepTimes(IDecoder model, Func<int, KvCache> createCache, IReadOnlyList<int> batches,
        IReadOnlyList<int> contexts, IReadOnlyList<int> tokens, int repeats = 3) =>
        Measure(model, createCache, batches, contexts, tokens, repeats, contextLimit: null, TimedPass.Chain);

    /// <summary>Times a plain decoding step (one token a row, greedy, as plain decoding runs it: on cuda the causal graph,
    /// replayed) after a prefill to each context: what a round of the root alone costs, about half a one-token tree pass on
    /// cuda (round 14). A drafter's chain step is this pass over its own cache (<paramref name="contextLimit"/>: a budget's
    /// slots); drafting at a temperature (<paramref name="greedy"/> false) it fetches the last position's logits instead.</summary>
    public static List<StepTimeSample> MeasurePlainStepTimes(IDecoder model, Func<int, KvCache> createCache, IReadOnlyList<int> batches,
        IReadOnlyList<int> contexts, int repeats = 3, int? contextLimit = null, bool greedy = true) =>
        Measure(model, createCache, batches, contexts, [1], repeats, contextLimit, greedy ? TimedPass.Greedy : TimedPass.LastLogits);

    // How a timed pass runs: as a tree's (explicit positions and mask, every position's logits), as a chain's verification
    // (every position's logits), or as a one-token step (greedy tokens, or the last position's logits).
    private enum TimedPass { Tree, Chain, Greedy, LastLogits }

    private static List<StepTimeSample> Measure(IDecoder model, Func<int, KvCache> createCache, IReadOnlyList<int> batches,
        IReadOnlyList<int> contexts, IReadOnlyList<int> tokens, int repeats, int? contextLimit, TimedPass pass)
    {
        var samples = new List<StepTimeSample>();
        var random = new Random(11);
        var vocab = model.Manifest.VocabSize;
        foreach (var batch in batches)
        foreach (var context in contexts)
        {
            using var cache = createCache(batch);
            // 1) fill every row to the context with random tokens
            var fillChunk = Math.Clamp(FillTokensPerPass / batch, 1, Chunk);
            for (var done = 0; done < context; done += fillChunk)
            {
                var n = Math.Min(fillChunk, context - done);
                var ids = new int[batch * n];
                for (var i = 0; i < ids.Length; i++) ids[i] = random.Next(3, vocab);
                model.Forward(cache, new ForwardInputs(ids, Enumerable.Repeat(n, batch).ToArray(), LogitsSelection.LastPerRow));
            }
            foreach (var s in tokens)
            {
                // 2) a warm-up pass, then the timed ones; each pass is rewound so the context stays put
                var ids = new int[batch * s];
                for (var i = 0; i < ids.Length; i++) ids[i] = random.Next(3, vocab);
                var counts = Enumerable.Repeat(s, batch).ToArray();
                var (positions, visibility) = ChainAsTree(batch, s, context);
                var times = new double[repeats];
                for (var r = -1; r < repeats; r++)
                {
                    var clock = Stopwatch.StartNew();
                    switch (pass)
                    {
                        case TimedPass.Greedy: model.ForwardGreedy(cache, new ForwardInputs(ids, counts, LogitsSelection.LastPerRow)); break;
                        case TimedPass.LastLogits: model.Forward(cache, new ForwardInputs(ids, counts, LogitsSelection.LastPerRow)); break;
                        case TimedPass.Chain: model.Forward(cache, new ForwardInputs(ids, counts, LogitsSelection.All)); break;
                        default: model.Forward(cache, new ForwardInputs(ids, counts, LogitsSelection.All) { Positions = positions, NewTokenVisibility = visibility }); break;
                    }
                    if (r >= 0) times[r] = clock.Elapsed.TotalSeconds;
                    cache.RewindTo(context);
                }
                Array.Sort(times);
                samples.Add(new StepTimeSample(batch, s, Math.Min(context, contextLimit ?? int.MaxValue), times[repeats / 2]));
            }
        }
        return samples;
    }

    /// <summary>
    /// Positions and visibility ([B, S, S], ancestor-or-self) of S new tokens a row as a chain given the way a tree is: the
    /// passes are timed as trees run, down the graph explicit positions and masks take (on cuda the slots or general graph,
    /// 2-3x the causal graph's cost that a plain pass of S tokens would be timed on).
    /// </summary>
    private static (long[] Positions, bool[] Visibility) ChainAsTree(int batch, int tokens, int context)
    {
        var positions = new long[batch * tokens];
        var visibility = new bool[batch * tokens * tokens];
        for (var b = 0; b < batch; b++)
        for (var j = 0; j < tokens; j++)
        {
            positions[b * tokens + j] = context + j;
            for (var k = 0; k <= j; k++) visibility[(b * tokens + j) * tokens + k] = true;
        }
        return (positions, visibility);
    }

    /// <summary>Logits of every position from first - 1 on ([n, vocab]), from chunked passes over the sequence.</summary>
    private static float[] Logits(IDecoder model, KvCache cache, int[] sequence, int first, int chunk = Chunk)
    {
        var vocab = model.Manifest.VocabSize;
        var from = Math.Max(first, 1) - 1;
        var result = new float[(sequence.Length - 1 - from) * vocab];
        for (var start = 0; start < sequence.Length - 1; start += chunk)
        {
            var n = Math.Min(chunk, sequence.Length - 1 - start);
            var logits = model.Forward(cache, new ForwardInputs(sequence.AsSpan(start, n), [n], LogitsSelection.All));
            for (var j = Math.Max(start, from); j < start + n; j++) logits.Slice((j - start) * vocab, vocab).CopyTo(result.AsSpan((j - from) * vocab));
        }
        return result;
    }

    /// <summary>0-based rank of <paramref name="token"/> among the top <paramref name="limit"/> logits, or -1.</summary>
    private static int Rank(ReadOnlySpan<float> logits, int token, int limit)
    {
        var above = 0;
        for (var t = 0; t < logits.Length; t++)
            if (logits[t] > logits[token] || (logits[t] == logits[token] && t < token)) above++;
        return above < limit ? above : -1;
    }
}
