using System.Diagnostics;
using System.Runtime.InteropServices;
using Condensa.Runtime;
using Condensa.Runtime.Generation;
using Condensa.Runtime.Sampling;

namespace Condensa.Speculative.Trees;

/// <summary>
/// One tree-speculative generation: on top of the shared run state (whose rows' last tokens are the next trees'
/// roots), the tree buffers, flattened inputs and verifier scratch a round needs, allocated once.
/// </summary>
internal sealed class TreeSpeculativeRun : SpeculativeRunState
{
    private readonly ITreeDrafter _drafter;
    private readonly TreeSpeculativeOptions _options;
    private readonly TreeDrafts _drafts;
    private readonly float[] _scratch;         // [2, vocab] verifier scratch
    private readonly int[] _pathTokens;        // [maxNodes] drafted tokens on a node's path
    private readonly bool[] _active;
    private readonly int[] _counts, _lengthsBefore, _next;
    private readonly int[] _tokens;            // [batch, maxNodes]
    private readonly long[] _positions;        // [batch, maxNodes]
    private readonly bool[] _visibility;       // [batch, maxNodes, maxNodes]

    public TreeSpeculativeRun(IDecoder target, IReadOnlyList<IReadOnlyList<int>> prompts, ITreeDrafter drafter, TreeSpeculativeOptions options,
        SpeculativeStats stats)
        : base(target, prompts, options.Generation, stats)
    {
        (_drafter, _options) = (drafter, options);
        var batch = prompts.Count;
        var maxNodes = options.Planner.MaxNodes;
        var sampling = options.Generation.Sampling;
        _drafts = new TreeDrafts(batch, maxNodes, Vocab, withDistributions: !sampling.IsGreedy);
        _scratch = new float[2 * Vocab];
        _pathTokens = new int[maxNodes];
        _active = new bool[batch];
        (_counts, _lengthsBefore, _next) = (new int[batch], new int[batch], new int[batch]);
        _tokens = new int[batch * maxNodes];
        _positions = new long[batch * maxNodes];
        _visibility = new bool[batch * maxNodes * maxNodes];
    }

    /// <summary>Chunked prefill of every prompt on the target (the drafter sees each pass), then the first token.</summary>
    public void Prefill() => Prefill((cache, counts) => _drafter.ObservePrefill(cache, counts));

    /// <summary>One round: plan the tree, draft it, verify it in one target pass, keep the accepted path in both caches, emit.</summary>
    public override void Round()
    {
        var batch = Rows.Length;
        var context = 0;
        for (var b = 0; b < batch; b++)
        {
            _active[b] = Finished[b] is null;
            if (_active[b]) context = Math.Max(context, Cache.Lengths[b]);
        }

        // 1) the tree for this batch and context; no row drafts past its token limit
        var shape = _options.Planner.Choose(_active.Count(a => a), context);
        for (var b = 0; b < batch; b++)
            _drafts.DepthLimits[b] = _active[b] ? Math.Max(0, Generation.MaxNewTokens - Outputs[b].Count - 1) : 0;

        // 2) draft a tree per active row, then cut each to the room left in the context (a breadth-first prefix is a tree)
        var clock = Stopwatch.StartNew();
        _drafter.Propose(Rows, _active, shape, _drafts);
        var draftTime = clock.Elapsed;
        clock.Restart();
        var seqLen = 0;
        for (var b = 0; b < batch; b++)
        {
            _lengthsBefore[b] = Cache.Lengths[b];
            _counts[b] = 0;
            if (!_active[b]) continue;
            _drafts.Trees[b].Truncate(Cache.MaxCapacity - Cache.Lengths[b]);
            _counts[b] = _drafts.Trees[b].Count;
            seqLen = Math.Max(seqLen, _counts[b]);
        }

        // 3) verify every row's flattened tree in one target pass: positions prefix + depth, mask prefix ++ ancestors
        var tokens = _tokens.AsSpan(0, batch * seqLen);
        var positions = _positions.AsSpan(0, batch * seqLen);
        var visibility = _visibility.AsSpan(0, batch * seqLen * seqLen);
        TreeMask.Flatten(_drafts.Trees, _counts, _lengthsBefore, seqLen, tokens, positions, visibility);
        var inputs = new ForwardInputs(tokens, _counts, LogitsSelection.All) { Positions = positions, NewTokenVisibility = visibility };
        if (VerifiesByArgmax)
        {
            // 4) greedy: walk each row's tree along the target's argmax tokens (the logits need not reach the host)
            var greedy = Target.ForwardGreedy(Cache, inputs);   // [batch, seqLen]
            for (var b = 0; b < batch; b++)
                if (_active[b])
                    _drafts.PathLengths[b] = TreeVerifier.VerifyGreedy(_drafts.Trees[b], greedy.Slice(b * seqLen, _drafts.Trees[b].Count),
                        _drafts.Paths.AsSpan(b * _drafts.MaxNodes, _drafts.MaxNodes), out _next[b]);
        }
        else
        {
            WalkWithDistributions(Target.Forward(Cache, inputs), seqLen);
        }

        // 5) commit: the target keeps [root, accepted path]; the drafter keeps what it holds of the same path
        for (var b = 0; b < batch; b++)
            if (_active[b]) Cache.KeepPath(b, _lengthsBefore[b], _drafts.Path(b));
        _drafter.Commit(Cache, _lengthsBefore, _drafts, _active);
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
            if (Finished[b] is null) Emit(b, _next[b]);
        }

        RecordRound(_active.Count(a => a), proposed, accepted, draftTime, verifyTime);
    }

    // 4) walk each active row's tree from the root with the target's processed distributions, from its logits
    //    [batch, seqLen, vocab]
    private void WalkWithDistributions(ReadOnlySpan<float> logits, int seqLen)
    {
        for (var b = 0; b < Rows.Length; b++)
        {
            if (!_active[b]) continue;
            var tree = _drafts.Trees[b];
            var (sampler, history) = (Samplers[b], Rows[b]);
            _drafts.PathLengths[b] = TreeVerifier.Verify(tree, logits.Slice(b * seqLen * Vocab, tree.Count * Vocab),
                (node, nodeLogits, p) => sampler.Distribution(nodeLogits, CollectionsMarshal.AsSpan(history),
                    _pathTokens.AsSpan(0, tree.PathTokens(node, _pathTokens)), p),
                _drafts.RowDistributions(b), Vocab, Random, _scratch, _drafts.Paths.AsSpan(b * _drafts.MaxNodes, _drafts.MaxNodes), out _next[b]);
        }
    }
}
