using System.Diagnostics;
using System.Runtime.InteropServices;
using Condensa.Runtime;
using Condensa.Runtime.Batching;
using Condensa.Runtime.Sampling;
using Condensa.Speculative.Trees;

namespace Condensa.Speculative;

/// <summary>
/// Speculative decoding as a decode step of the <see cref="Runtime.Generation.DecodeLoop"/>: each pass the planner picks
/// the proposal's shape (a chain of γ tokens or a Sequoia tree) for the batch and context, the drafter fills one per
/// decoding row, the target verifies every row's proposal in one pass, and each row keeps its accepted path plus one
/// corrected or bonus token in both caches. Chains run with the causal mask; trees with tree positions and the ancestor
/// mask. Lossless: greedy output equals plain decoding, sampled output follows the target's distribution (each row's
/// own sampler). The drafter hears of every new document and prefill pass, so stateful drafters (a draft model's or a
/// budget's cache) follow rows that are refilled between passes.
/// </summary>
public sealed class SpeculativeDecodeStep : IDecodeStep, IDisposable
{
    private readonly IDrafter _drafter;
    private readonly IDraftPlanner _planner;
    private readonly bool _ownsDrafter;
    private readonly Random _random;        // the verifier's uniform draws
    private readonly PlainDecodeStep _plain = new();   // the rounds of the root alone
    private TreeDrafts? _drafts;
    private List<int>[] _histories = [];
    private bool[] _active = [];
    private int[] _counts = [], _lengthsBefore = [], _next = [], _tokens = [], _pathTokens = [];
    private long[] _positions = [];
    private bool[] _visibility = [];
    private float[] _p = [], _scratch = [];

    /// <summary>Creates the step.</summary>
    /// <param name="drafter">Where drafts come from (created for the loop's batch size when it keeps per-row state).</param>
    /// <param name="planner">The proposal's shape per round: <see cref="ChainPlanner"/> or <see cref="TreePlanner"/>.</param>
    /// <param name="seed">Seeds the verifier's draws (sampling only).</param>
    /// <param name="stats">Receives the rounds' figures; null keeps them in <see cref="Stats"/> alone.</param>
    /// <param name="ownsDrafter">Dispose the drafter with the step.</param>
    public SpeculativeDecodeStep(IDrafter drafter, IDraftPlanner planner, int? seed = null, SpeculativeStats? stats = null, bool ownsDrafter = false)
    {
        (_drafter, _planner, _ownsDrafter) = (drafter, planner, ownsDrafter);
        ArgumentNullException.ThrowIfNull(drafter);
        ArgumentNullException.ThrowIfNull(planner);
        _random = SeededRandom.Create(seed, SeededRandom.VerifyStream);   // not the row samplers' or the drafter's draws
        Stats = stats ?? new SpeculativeStats();
    }

    /// <summary>Rounds, drafted and accepted tokens, and where the time went.</summary>
    public SpeculativeStats Stats { get; }

    /// <summary>The mode's name for stats: the drafter's, with "tree-" for tree proposals.</summary>
    public string Name => _planner is TreePlanner ? $"tree-{_drafter.Name}" : _drafter.Name;

    /// <inheritdoc />
    public void RowStarted(KvCache cache, int row) => _drafter.RowStarted(cache, row);

    /// <inheritdoc />
    public void PrefillPassed(KvCache source, int sourceRow, int row, ReadOnlySpan<int> chunk) => _drafter.PrefillPassed(source, sourceRow, row, chunk);

    /// <inheritdoc />
    public void RowsMoved(KvCache cache, ReadOnlySpan<RowMove> moves) => _drafter.RowsMoved(cache, moves);

    /// <inheritdoc />
    public void Step(IDecoder model, KvCache cache, IReadOnlyList<BatchRow> rows)
    {
        Speculation.CheckTarget(model.Manifest);
        var batch = cache.BatchSize;
        var vocab = model.Manifest.VocabSize;
        Allocate(batch, vocab, model.PassLength(_planner.MaxNodes));
        var drafts = _drafts!;
        var (context, activeRows, greedy) = (0, 0, true);
        for (var b = 0; b < batch; b++)
        {
            _active[b] = rows[b].IsDecoding;
            _histories[b] = rows[b].Tokens;
            drafts.DepthLimits[b] = _active[b] ? Math.Max(0, rows[b].Room - 1) : 0;   // the token after the drafts counts too
            if (!_active[b]) continue;
            (context, activeRows) = (Math.Max(context, cache.Lengths[b]), activeRows + 1);
            greedy &= rows[b].Sampler.IsArgmax;
        }

        // 1) the shape for this batch and context; a proposal per decoding row, cut to the room left in its context
        var shape = _planner.Next(activeRows, context);
        if (shape.Count == 1)
        {
            PlainRound(model, cache, rows, shape, activeRows);
            return;
        }
        var start = Stopwatch.GetTimestamp();   // timestamps, not a Stopwatch per round
        _drafter.Propose(cache, _histories, _active, shape, drafts);
        var draftTime = Stopwatch.GetElapsedTime(start);
        start = Stopwatch.GetTimestamp();
        var (seqLen, chains) = (0, true);
        for (var b = 0; b < batch; b++)
        {
            _lengthsBefore[b] = cache.Lengths[b];
            _counts[b] = 0;
            if (!_active[b]) continue;
            var tree = drafts.Trees[b];
            tree.Truncate(cache.MaxCapacity - cache.Lengths[b]);   // a breadth-first prefix is a tree
            _counts[b] = tree.Count;
            seqLen = Math.Max(seqLen, tree.Count);
            chains &= tree.MaxDepth == tree.Count - 1;
        }

        // 2) verify every row's proposal in one target pass (padded to a length the model replays): a chain is plain
        //    causal decoding of [root, d1..dn]; a tree takes positions prefix + depth and the mask prefix ++ ancestors
        var longestProposal = Math.Max(seqLen - 1, 0);   // drafts in the longest row's proposal: what the pass verified
        seqLen = model.PassLength(seqLen);
        var inputs = Flatten(drafts, seqLen, chains);
        if (greedy)
        {
            // greedy: walk each row's proposal along the target's argmax tokens (the logits need not reach the host)
            var targetTokens = model.ForwardGreedy(cache, inputs);   // [batch, seqLen]
            for (var b = 0; b < batch; b++)
                if (_active[b])
                    drafts.PathLengths[b] = TreeVerifier.VerifyGreedy(drafts.Trees[b], targetTokens.Slice(b * seqLen, drafts.Trees[b].Count),
                        drafts.Paths.AsSpan(b * drafts.MaxNodes, drafts.MaxNodes), out _next[b]);
        }
        else
        {
            var logits = model.Forward(cache, inputs);   // [batch, seqLen, vocab]
            for (var b = 0; b < batch; b++)
                if (_active[b])
                    drafts.PathLengths[b] = chains ? VerifyChain(rows[b], logits, b, seqLen, vocab) : VerifyTree(rows[b], logits, b, seqLen, vocab);
        }

        // 3) commit: the target keeps [root, accepted path]; the drafter keeps what it holds of the same path
        for (var b = 0; b < batch; b++)
            if (_active[b]) cache.KeepPath(b, _lengthsBefore[b], drafts.Path(b));
        _drafter.Commit(cache, _lengthsBefore, drafts, _active);
        var verifyTime = Stopwatch.GetElapsedTime(start);

        // 4) emit the accepted drafts and the token after them; the loop applies the stop and length rules
        var (proposed, accepted) = (0, 0);
        for (var b = 0; b < batch; b++)
        {
            if (!_active[b]) continue;
            var (tree, emitted) = (drafts.Trees[b], rows[b].Emitted);
            var path = drafts.Path(b);
            emitted.Clear();
            foreach (var node in path[1..]) emitted.Add(tree.Tokens[node]);
            emitted.Add(_next[b]);
            rows[b].CountDrafts(tree.Count - 1, path.Length - 1);
            (proposed, accepted) = (proposed + tree.Count - 1, accepted + path.Length - 1);
        }
        Stats.Record(shape, longestProposal, activeRows, proposed, accepted, draftTime, verifyTime);
        _planner.Observe(shape, activeRows, longestProposal, proposed, accepted, draftTime, verifyTime);
    }

    /// <summary>
    /// A round whose shape is the root alone (the planner found drafting not worth its cost here) is a plain decoding
    /// step, the very one plain decoding runs: the drafter is not asked (a drafter with a cache catches up when it next
    /// drafts) and nothing of the verification path runs, so the planner's plain choice costs what plain decoding does
    /// and times what it would (on cuda the old path's extra cost was within run-to-run noise: docs/benchmarks.md, round 12 d).
    /// </summary>
    private void PlainRound(IDecoder model, KvCache cache, IReadOnlyList<BatchRow> rows, TreeShape shape, int activeRows)
    {
        var start = Stopwatch.GetTimestamp();
        _plain.Step(model, cache, rows);
        var time = Stopwatch.GetElapsedTime(start);
        Stats.Record(shape, 0, activeRows, 0, 0, TimeSpan.Zero, time);
        _planner.Observe(shape, activeRows, 0, 0, 0, TimeSpan.Zero, time);
    }

    /// <summary>The verification pass's inputs: each row's proposal, breadth-first, padded to <paramref name="seqLen"/>.</summary>
    private ForwardInputs Flatten(TreeDrafts drafts, int seqLen, bool chains)
    {
        var batch = _counts.Length;
        var tokens = _tokens.AsSpan(0, batch * seqLen);
        if (chains)
        {
            tokens.Clear();
            for (var b = 0; b < batch; b++)
                if (_counts[b] > 0) drafts.Trees[b].Tokens.CopyTo(tokens.Slice(b * seqLen, seqLen));
            return new ForwardInputs(tokens, _counts, LogitsSelection.All);
        }
        var positions = _positions.AsSpan(0, batch * seqLen);
        var visibility = _visibility.AsSpan(0, batch * seqLen * seqLen);
        TreeMask.Flatten(drafts.Trees, _counts, _lengthsBefore, seqLen, tokens, positions, visibility);
        return new ForwardInputs(tokens, _counts, LogitsSelection.All) { Positions = positions, NewTokenVisibility = visibility };
    }

    // Speculative sampling along a chain, with the row's sampler giving the target's law at each position.
    private int VerifyChain(BatchRow row, ReadOnlySpan<float> logits, int b, int seqLen, int vocab)
    {
        var drafts = _drafts!;
        var chain = drafts.Trees[b].Tokens[1..];
        var n = chain.Length;
        for (var i = 0; i <= n; i++)
            row.Sampler.Distribution(logits.Slice((b * seqLen + i) * vocab, vocab), CollectionsMarshal.AsSpan(row.Tokens), chain[..i],
                _p.AsSpan(i * vocab, vocab));
        var q = drafts.RowDistributions(b);
        var accepted = ChainVerifier.Verify(_p.AsSpan(0, (n + 1) * vocab), q.IsEmpty ? q : q[..(n * vocab)], chain, vocab, _random,
            _scratch.AsSpan(0, vocab), out _next[b]);
        var path = drafts.Paths.AsSpan(b * drafts.MaxNodes, accepted + 1);
        for (var i = 0; i <= accepted; i++) path[i] = i;
        return accepted + 1;
    }

    // Multi-draft speculative sampling down the row's tree (Sequoia), the row's sampler giving the law at each visited node.
    private int VerifyTree(BatchRow row, ReadOnlySpan<float> logits, int b, int seqLen, int vocab)
    {
        var drafts = _drafts!;
        var tree = drafts.Trees[b];
        return TreeVerifier.Verify(tree, logits.Slice(b * seqLen * vocab, tree.Count * vocab),
            (node, nodeLogits, p) => row.Sampler.Distribution(nodeLogits, CollectionsMarshal.AsSpan(row.Tokens),
                _pathTokens.AsSpan(0, tree.PathTokens(node, _pathTokens)), p),
            drafts.RowDistributions(b), vocab, _random, _scratch, drafts.Paths.AsSpan(b * drafts.MaxNodes, drafts.MaxNodes), out _next[b]);
    }

    // passLength: the longest pass the model runs for a proposal of MaxNodes (its padding included)
    private void Allocate(int batch, int vocab, int passLength)
    {
        if (_active.Length == batch && _drafts?.Vocab == vocab && _tokens.Length >= batch * passLength) return;
        var maxNodes = _planner.MaxNodes;
        _drafts = new TreeDrafts(batch, maxNodes, vocab, withDistributions: _drafter.SamplesDrafts);
        _histories = new List<int>[batch];
        _active = new bool[batch];
        (_counts, _lengthsBefore, _next) = (new int[batch], new int[batch], new int[batch]);
        _tokens = new int[batch * passLength];
        _positions = new long[batch * passLength];
        _visibility = new bool[batch * passLength * passLength];
        _pathTokens = new int[maxNodes];
        _p = new float[maxNodes * vocab];   // [maxNodes, vocab] one row's target laws along a chain
        _scratch = new float[2 * vocab];
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ownsDrafter) _drafter.Dispose();
    }
}
