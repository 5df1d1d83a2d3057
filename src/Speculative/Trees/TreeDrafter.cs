using System.Runtime.InteropServices;
using Condensa.Runtime;
using Condensa.Runtime.Sampling;

namespace Condensa.Speculative.Trees;

/// <summary>
/// Drafts token trees with a model over its own cache, level by level: each pass feeds the tree so far (the root and
/// every drafted level) with tree positions and the ancestor mask, and draws the children of the newest level without
/// replacement (sampling) or as the top-ranked tokens (greedy). The mask cannot yet hide cached tree nodes from each
/// other, so each pass rewinds to the prefix and re-feeds the tree; after the last pass the cache holds the tree, and
/// <see cref="Commit"/> keeps the accepted path with <see cref="KvCache.KeepPath"/>.
/// </summary>
public sealed class TreeDrafter : ITreeDrafter
{
    // Committed tokens per catch-up pass, as in plain prefill: bounds the [chunk, context] mask.
    private const int CatchUpChunk = 512;
    private readonly IDecoder _model;
    private readonly KvCache _cache;
    private readonly bool _selfSpeculation;
    private readonly TokenSampler[] _samplers;
    private readonly Random _random;
    private readonly bool _sample;
    private readonly int _vocab;
    private readonly int[] _counts, _starts, _fed, _depths;
    private readonly float[] _scratch;     // [vocab] the law of the next child (greedy: penalised logits)
    private readonly bool[] _seen;         // [vocab] repetition-penalty scratch
    private int[] _tokens = [], _shapeNode = [], _pathTokens = [];
    private long[] _positions = [];
    private bool[] _visibility = [];

    private TreeDrafter(IDecoder model, KvCache cache, SamplingOptions sampling, bool selfSpeculation)
    {
        (_model, _cache, _selfSpeculation) = (model, cache, selfSpeculation);
        _vocab = model.Manifest.VocabSize;
        _samplers = [.. Enumerable.Range(0, cache.BatchSize).Select(_ => new TokenSampler(sampling, _vocab))];
        // Draws are independent of the verifier's: a seed offset keeps runs reproducible without sharing a stream.
        _random = sampling.Seed is { } seed ? new Random(unchecked(seed * 31 + 17)) : new Random();
        _sample = !sampling.IsGreedy;
        RepetitionPenalty = sampling.RepetitionPenalty;
        _counts = new int[cache.BatchSize];
        _starts = new int[cache.BatchSize];
        _fed = new int[cache.BatchSize];
        _depths = new int[cache.BatchSize];
        _scratch = new float[_vocab];
        _seen = new bool[_vocab];
    }

    /// <summary>A separate, smaller model with the target's vocabulary drafts over its own full cache.</summary>
    public static TreeDrafter ForDraftModel(IDecoder draft, ModelManifest target, int batchSize, SamplingOptions sampling)
    {
        ArgumentNullException.ThrowIfNull(draft);
        ArgumentNullException.ThrowIfNull(target);
        if (draft.Manifest.VocabSize != target.VocabSize)
            throw new CondensaException($"Incompatible draft: vocabulary mismatch (draft has {draft.Manifest.VocabSize} tokens, target " +
                $"{target.VocabSize}); a draft must share the target's tokenizer.");
        return new TreeDrafter(draft, draft.CreateCache(batchSize), sampling, selfSpeculation: false);
    }

    /// <summary>MagicDec self-speculation: the target drafts over a sink + window budget, seeded with the target's
    /// prefill KV. The budget's slack must hold a whole tree, so its entries never evict a window position.</summary>
    public static TreeDrafter ForSelfSpeculation(IDecoder target, KvBudget budget, int maxNodes, int batchSize, SamplingOptions sampling)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(budget);
        if (budget.Slack < maxNodes)
            throw new ArgumentException($"the budget's slack ({budget.Slack}) must hold a whole tree of up to {maxNodes} nodes", nameof(budget));
        return new TreeDrafter(target, target.CreateCache(batchSize, new KvCacheOptions { Budget = budget }), sampling, selfSpeculation: true);
    }

    /// <inheritdoc />
    public string Name => _selfSpeculation ? "self" : "draft";

    /// <summary>Tokens run through the draft model so far (catch-up and every level pass), a measure of draft work.</summary>
    public long TokensFed { get; private set; }

    private float RepetitionPenalty { get; }

    /// <inheritdoc />
    public void ObservePrefill(KvCache target, ReadOnlySpan<int> counts)
    {
        if (_selfSpeculation) target.CopyLastPassInto(_cache, counts);
    }

    /// <inheritdoc />
    public void Propose(IReadOnlyList<List<int>> rows, ReadOnlySpan<bool> active, TreeShape shape, TreeDrafts output)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (shape.Count > output.MaxNodes) throw new ArgumentException($"a {shape.Count}-node tree exceeds the buffers' {output.MaxNodes}", nameof(shape));
        var batch = rows.Count;
        output.HasDistributions = _sample;
        EnsureBuffers(batch, output.MaxNodes);

        // 0) a root-only tree (the planner found drafting not worth its cost) drafts nothing: skip the catch-up too, so the
        //    round costs one target pass as plain decoding does; the draft catches up when a tree next needs it
        if (shape.Depth == 0)
        {
            for (var b = 0; b < batch; b++)
            {
                _fed[b] = 0;
                _starts[b] = _cache.Lengths[b];
                if (active[b]) output.Trees[b].Reset(rows[b][^1]);
            }
            return;
        }

        // 1) the draft cache catches up with every committed token but the root, which each level pass feeds
        CatchUp(rows, active);
        var maxDepth = 0;
        for (var b = 0; b < batch; b++)
        {
            _fed[b] = 0;
            if (!active[b]) continue;
            _starts[b] = _cache.Lengths[b];
            output.Trees[b].Reset(rows[b][^1]);
            _shapeNode[b * output.MaxNodes] = 0;
            _depths[b] = Math.Min(shape.Depth, output.DepthLimits[b]);
            maxDepth = Math.Max(maxDepth, _depths[b]);
        }

        for (var d = 0; d < maxDepth; d++)
        {
            // 2) one pass per level: each row still growing re-feeds its whole tree (depth <= d) after its prefix
            var seqLen = 0;
            for (var b = 0; b < batch; b++)
            {
                var tree = output.Trees[b];
                _counts[b] = active[b] && d < _depths[b] && tree.MaxDepth == d ? tree.Count : 0;
                if (_counts[b] == 0) continue;
                _cache.RewindTo(b, _starts[b]);
                seqLen = Math.Max(seqLen, _counts[b]);
            }
            if (seqLen == 0) break;
            var tokens = _tokens.AsSpan(0, batch * seqLen);
            var positions = _positions.AsSpan(0, batch * seqLen);
            var visibility = _visibility.AsSpan(0, batch * seqLen * seqLen);
            TreeMask.Flatten(output.Trees, _counts, _starts, seqLen, tokens, positions, visibility);
            var logits = _model.Forward(_cache, new ForwardInputs(tokens, _counts, LogitsSelection.All) { Positions = positions, NewTokenVisibility = visibility });
            foreach (var c in _counts) TokensFed += c;

            // 3) children of level d, in rank order, where the shape has them
            for (var b = 0; b < batch; b++)
            {
                if (_counts[b] == 0) continue;
                _fed[b] = _counts[b];
                var tree = output.Trees[b];
                var levelStart = tree.CountThroughDepth(d - 1);
                for (var node = levelStart; node < _counts[b]; node++)
                    AddChildren(rows[b], tree, node, shape, logits.Slice((b * seqLen + node) * _vocab, _vocab), b, output);
            }
        }
    }

    /// <inheritdoc />
    public void Commit(KvCache target, ReadOnlySpan<int> lengthsBefore, TreeDrafts drafts, ReadOnlySpan<bool> active)
    {
        // The draft holds the nodes of its last pass; keep the accepted ones (a prefix of the path, which may end in an
        // unfed leaf: that token is caught up next round, like the bonus token).
        for (var b = 0; b < _cache.BatchSize; b++)
        {
            if (!active[b]) continue;
            var path = drafts.Path(b);
            var kept = 0;
            while (kept < path.Length && path[kept] < _fed[b]) kept++;
            _cache.KeepPath(b, _starts[b], path[..kept]);
        }
    }

    /// <summary>Draws the children of one node: without replacement from q (sampling) or the top-ranked tokens (greedy).</summary>
    private void AddChildren(List<int> row, TokenTree tree, int node, TreeShape shape, ReadOnlySpan<float> logits, int b, TreeDrafts output)
    {
        var shapeNode = _shapeNode[b * output.MaxNodes + node];
        var children = shape.ChildCount(shapeNode);
        if (children == 0) return;
        var recent = _pathTokens.AsSpan(0, tree.PathTokens(node, _pathTokens));
        var history = CollectionsMarshal.AsSpan(row);
        if (_sample)
        {
            var q = output.Distributions.AsSpan((b * output.MaxNodes + node) * _vocab, _vocab);
            _samplers[b].Distribution(logits, history, recent, q);
            q.CopyTo(_scratch);
        }
        else
        {
            // Any deterministic choice is lossless under greedy verification; the penalised logits rank like the target's.
            logits.CopyTo(_scratch);
            LogitsProcessors.ApplyRepetitionPenalty(_scratch, history, recent, RepetitionPenalty, _seen);
        }
        for (var rank = 0; rank < children; rank++)
        {
            var x = _sample ? DrawOrNone(_scratch) : System.Numerics.Tensors.TensorPrimitives.IndexOfMax(_scratch);
            if (x < 0 || (!_sample && float.IsNegativeInfinity(_scratch[x]))) return;   // q has no more tokens to offer
            _shapeNode[b * output.MaxNodes + tree.Add(node, x)] = shape.Child(shapeNode, rank);
            _scratch[x] = _sample ? 0f : float.NegativeInfinity;
        }
    }

    private int DrawOrNone(ReadOnlySpan<float> weights)
    {
        var total = 0.0;
        foreach (var w in weights) total += w;
        return total <= 0 ? -1 : TreeVerifier.Draw(weights, _random);
    }

    /// <summary>Feeds every row's unseen committed tokens except the last, in chunks.</summary>
    private void CatchUp(IReadOnlyList<List<int>> rows, ReadOnlySpan<bool> active)
    {
        while (true)
        {
            var seqLen = 0;
            for (var b = 0; b < rows.Count; b++)
            {
                _counts[b] = active[b] ? Math.Clamp(rows[b].Count - 1 - _cache.Lengths[b], 0, CatchUpChunk) : 0;
                seqLen = Math.Max(seqLen, _counts[b]);
            }
            if (seqLen == 0) return;
            var tokens = new int[rows.Count * seqLen];
            for (var b = 0; b < rows.Count; b++)
                for (var j = 0; j < _counts[b]; j++) tokens[b * seqLen + j] = rows[b][_cache.Lengths[b] + j];
            _model.Forward(_cache, new ForwardInputs(tokens, _counts, LogitsSelection.LastPerRow));
            foreach (var c in _counts) TokensFed += c;
        }
    }

    private void EnsureBuffers(int batch, int maxNodes)
    {
        if (_shapeNode.Length >= batch * maxNodes) return;
        _tokens = new int[batch * maxNodes];
        _positions = new long[batch * maxNodes];
        _visibility = new bool[batch * maxNodes * maxNodes];
        _shapeNode = new int[batch * maxNodes];
        _pathTokens = new int[maxNodes];
    }

    /// <inheritdoc />
    public void Dispose() => _cache.Dispose();
}
