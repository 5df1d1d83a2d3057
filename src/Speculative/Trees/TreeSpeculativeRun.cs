using System.Diagnostics;
using System.Runtime.InteropServices;
using Condensa.Runtime;
using Condensa.Runtime.Generation;
using Condensa.Runtime.Sampling;

namespace Condensa.Speculative.Trees;

/// <summary>
/// The state of one tree-speculative generation: the target cache, each row's committed tokens (the last of which is
/// the next tree's root, not in the target cache yet), and the buffers a round needs, allocated once.
/// </summary>
internal sealed class TreeSpeculativeRun : IDisposable
{
    private readonly IDecoder _target;
    private readonly ITreeDrafter _drafter;
    private readonly TreeSpeculativeOptions _options;
    private readonly SpeculativeStats _stats;
    private readonly KvCache _cache;
    private readonly List<int>[] _rows;        // committed tokens per row: prompt + output
    private readonly List<int>[] _outputs;     // generated tokens per row
    private readonly FinishReason?[] _finish;
    private readonly TokenSampler[] _samplers; // target distributions, exactly as plain decoding applies them
    private readonly Random _random;           // the verifier's uniform draws
    private readonly TreeDrafts _drafts;
    private readonly float[] _scratch;         // [2, vocab] verifier scratch
    private readonly int[] _pathTokens;        // [maxNodes] drafted tokens on a node's path
    private readonly bool[] _active;
    private readonly int[] _counts, _lengthsBefore, _next;
    private readonly int[] _tokens;            // [batch, maxNodes]
    private readonly long[] _positions;        // [batch, maxNodes]
    private readonly bool[] _visibility;       // [batch, maxNodes, maxNodes]
    private readonly int _vocab;

    public TreeSpeculativeRun(IDecoder target, IReadOnlyList<IReadOnlyList<int>> prompts, ITreeDrafter drafter, TreeSpeculativeOptions options,
        SpeculativeStats stats)
    {
        (_target, _drafter, _options, _stats) = (target, drafter, options, stats);
        var batch = prompts.Count;
        var maxNodes = options.Planner.MaxNodes;
        _vocab = target.Manifest.VocabSize;
        var sampling = options.Generation.Sampling;
        _cache = target.CreateCache(batch);
        _rows = [.. prompts.Select(p => new List<int>(p))];
        _outputs = [.. prompts.Select(_ => new List<int>())];
        _finish = new FinishReason?[batch];
        _samplers = [.. prompts.Select(_ => new TokenSampler(sampling, _vocab))];
        _random = sampling.Seed is { } seed ? new Random(seed) : new Random();
        _drafts = new TreeDrafts(batch, maxNodes, _vocab, withDistributions: !sampling.IsGreedy);
        _scratch = new float[2 * _vocab];
        _pathTokens = new int[maxNodes];
        _active = new bool[batch];
        (_counts, _lengthsBefore, _next) = (new int[batch], new int[batch], new int[batch]);
        _tokens = new int[batch * maxNodes];
        _positions = new long[batch * maxNodes];
        _visibility = new bool[batch * maxNodes * maxNodes];
        foreach (var prompt in prompts)
            if (prompt.Count + options.Generation.MaxNewTokens - 1 > _cache.MaxCapacity)
                throw new CondensaException($"Context overflow: prompt of {prompt.Count} tokens + {options.Generation.MaxNewTokens} new tokens " +
                    $"exceeds the context limit of {_cache.MaxCapacity} tokens. Shorten the prompt or lower --max-tokens.");
    }

    public bool Done => _finish.All(f => f is not null);

    public IReadOnlyList<int> Output(int row) => _outputs[row];

    public IReadOnlyList<GenerationResult> Results() => [.. _outputs.Select((o, b) => new GenerationResult(o, _finish[b]!.Value))];

    /// <summary>Chunked prefill of every prompt on the target (the drafter sees each pass), then the first token.</summary>
    public void Prefill()
    {
        var clock = Stopwatch.StartNew();
        var first = ChunkedPrefill.Run(_target, _cache, _rows, _samplers, _options.Generation.PrefillChunk,
            (cache, counts) => _drafter.ObservePrefill(cache, counts));
        _stats.Generation.PromptTokens += _rows.Sum(r => r.Count);
        _stats.Generation.PrefillTime += clock.Elapsed;
        for (var b = 0; b < _rows.Length; b++) Emit(b, first[b]);
        Finish();
    }

    /// <summary>One round: plan the tree, draft it, verify it in one target pass, keep the accepted path in both caches, emit.</summary>
    public void Round()
    {
        var batch = _rows.Length;
        var context = 0;
        for (var b = 0; b < batch; b++)
        {
            _active[b] = _finish[b] is null;
            if (_active[b]) context = Math.Max(context, _cache.Lengths[b]);
        }

        // 1) the tree for this batch and context; no row drafts past its token limit
        var shape = _options.Planner.Choose(_active.Count(a => a), context);
        for (var b = 0; b < batch; b++)
            _drafts.DepthLimits[b] = _active[b] ? Math.Max(0, _options.Generation.MaxNewTokens - _outputs[b].Count - 1) : 0;

        // 2) draft a tree per active row, then cut each to the room left in the context (a breadth-first prefix is a tree)
        var clock = Stopwatch.StartNew();
        _drafter.Propose(_rows, _active, shape, _drafts);
        var draftTime = clock.Elapsed;
        clock.Restart();
        var seqLen = 0;
        for (var b = 0; b < batch; b++)
        {
            _lengthsBefore[b] = _cache.Lengths[b];
            _counts[b] = 0;
            if (!_active[b]) continue;
            _drafts.Trees[b].Truncate(_cache.MaxCapacity - _cache.Lengths[b]);
            _counts[b] = _drafts.Trees[b].Count;
            seqLen = Math.Max(seqLen, _counts[b]);
        }

        // 3) verify every row's flattened tree in one target pass: positions prefix + depth, mask prefix ++ ancestors
        var tokens = _tokens.AsSpan(0, batch * seqLen);
        var positions = _positions.AsSpan(0, batch * seqLen);
        var visibility = _visibility.AsSpan(0, batch * seqLen * seqLen);
        TreeMask.Flatten(_drafts.Trees, _counts, _lengthsBefore, seqLen, tokens, positions, visibility);
        var logits = _target.Forward(_cache, new ForwardInputs(tokens, _counts, LogitsSelection.All) { Positions = positions, NewTokenVisibility = visibility });

        // 4) walk each row's tree from the root with the target's processed distributions
        for (var b = 0; b < batch; b++)
        {
            if (!_active[b]) continue;
            var tree = _drafts.Trees[b];
            var (sampler, history) = (_samplers[b], _rows[b]);
            _drafts.PathLengths[b] = TreeVerifier.Verify(tree, logits.Slice(b * seqLen * _vocab, tree.Count * _vocab),
                (node, nodeLogits, p) => sampler.Distribution(nodeLogits, CollectionsMarshal.AsSpan(history),
                    _pathTokens.AsSpan(0, tree.PathTokens(node, _pathTokens)), p),
                _drafts.RowDistributions(b), _vocab, _random, _scratch, _drafts.Paths.AsSpan(b * _drafts.MaxNodes, _drafts.MaxNodes), out _next[b]);
        }

        // 5) commit: the target keeps [root, accepted path]; the drafter keeps what it holds of the same path
        for (var b = 0; b < batch; b++)
            if (_active[b]) _cache.KeepPath(b, _lengthsBefore[b], _drafts.Path(b));
        _drafter.Commit(_cache, _lengthsBefore, _drafts, _active);
        var verifyTime = clock.Elapsed;

        // 6) emit the accepted drafts and the extra token, stopping at a stop token or the limit
        var (proposed, accepted) = (0, 0);
        for (var b = 0; b < batch; b++)
        {
            if (!_active[b]) continue;
            var tree = _drafts.Trees[b];
            var path = _drafts.Path(b);
            proposed += tree.Count - 1;
            accepted += path.Length - 1;
            foreach (var node in path[1..])
                if (!Emit(b, tree.Tokens[node])) break;
            if (_finish[b] is null) Emit(b, _next[b]);
        }
        Finish();

        _stats.Rounds++;
        _stats.RowRounds += _active.Count(a => a);
        _stats.Proposed += proposed;
        _stats.Accepted += accepted;
        _stats.DraftTime += draftTime;
        _stats.VerifyTime += verifyTime;
        _stats.Generation.DecodeTime += draftTime + verifyTime;
    }

    /// <summary>Appends a token to a row; false once the row is finished.</summary>
    private bool Emit(int row, int token)
    {
        _rows[row].Add(token);
        _outputs[row].Add(token);
        _stats.Generation.GeneratedTokens++;
        if (_options.Generation.StopTokenIds.Contains(token)) _finish[row] = FinishReason.Stop;
        else if (_outputs[row].Count >= _options.Generation.MaxNewTokens) _finish[row] = FinishReason.Length;
        return _finish[row] is null;
    }

    private void Finish()
    {
        _stats.Generation.KvBytes = _cache.UsedBytes;
        _stats.Generation.KvBytesPerToken = _cache.BytesPerToken;
    }

    public void Dispose() => _cache.Dispose();
}
