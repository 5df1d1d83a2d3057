using System.Runtime.InteropServices;
using Condensa.Runtime;
using Condensa.Runtime.Sampling;
using Condensa.Speculative.Trees;

namespace Condensa.Speculative;

/// <summary>
/// Drafts with a model over its own cache: a separate smaller model (<see cref="ForDraftModel"/>) or the target itself
/// over a sink + window budget (<see cref="ForSelfSpeculation"/>, MagicDec). Each round the cache catches up with the
/// committed tokens it has not seen, then one pass per level draws the children of the newest level, without
/// replacement (sampling) or as the top-ranked tokens (greedy). A chain feeds just its newest token per pass. A branching
/// tree re-feeds the tree so far with tree positions and the ancestor mask, because the mask cannot hide cached tree nodes
/// from each other.
/// </summary>
public sealed class ModelDrafter : IDrafter
{
    // Committed tokens per catch-up pass, as in plain prefill: bounds the [chunk, context] mask. At batch > 1 no longer
    // than the model's fast multi-row passes (IDecoder.LongestRowsPass); prompts are fed at prefill (PrefillPassed). On a
    // model that replays captured graphs, no longer than it captures, and padded as it asks: the tokens to catch up after a
    // stretch of plain rounds vary, and each new length cost a pass of its own (round 14 on cuda: a batch-1 catch-up of
    // 17-250 tokens took 50-81 ms whatever its length, against 0.3 ms a replayed draft step).
    private const int PrefillChunk = 512;
    private int CatchUpChunk => _model.LongestCapturedPass > 0 ? _model.LongestCapturedPass
        : _cache.BatchSize > 1 ? Math.Min(PrefillChunk, _model.LongestRowsPass) : PrefillChunk;
    private readonly IDecoder _model;
    private readonly KvCache _cache;
    private readonly bool _selfSpeculation;
    private readonly TokenSampler[] _samplers;
    private readonly Random _random;
    private readonly bool _sample;
    private readonly int _vocab;
    private readonly int[] _counts, _starts, _fed, _depths;
    // A greedy chain without a repetition penalty drafts each row's argmax, which the model gives without its logits
    // (IDecoder.ForwardGreedy: on cuda B token ids cross the bus a pass instead of B x V floats, and no host argmax).
    private readonly bool _argmaxOnDevice;
    private readonly float[] _lastLogits;  // [batch, vocab] a chain's logits after each row's newest fed token
    private readonly int[] _lastArgmax;    // [batch] their argmax, where _argmaxOnDevice
    private readonly float[] _scratch;     // [vocab] the law of the next child (greedy: penalised logits)
    private readonly bool[] _seen;         // [vocab] repetition-penalty scratch
    private int[] _tokens = [], _shapeNode = [], _pathTokens = [];
    private int[] _catchUp = [];           // [batch, <= CatchUpChunk] one catch-up pass's tokens, reused
    private long[] _positions = [];
    private bool[] _visibility = [];
    private KvCache? _side;                // [1, ...] the prompt of row _sideRow, fed beside the target's prefill at batch > 1
    private int _sideRow = -1;
    private readonly int[] _sideCount = new int[1];

    private ModelDrafter(IDecoder model, KvCache cache, SamplingOptions sampling, bool selfSpeculation)
    {
        (_model, _cache, _selfSpeculation) = (model, cache, selfSpeculation);
        _vocab = model.Manifest.VocabSize;
        _samplers = [.. Enumerable.Range(0, cache.BatchSize).Select(_ => new TokenSampler(sampling, _vocab))];
        // Draws from a stream of their own (SeededRandom): reproducible, and independent of the sampler's and the verifier's.
        _random = SeededRandom.Create(sampling.Seed, SeededRandom.DraftStream);
        _sample = !sampling.IsGreedy;
        RepetitionPenalty = sampling.RepetitionPenalty;
        _argmaxOnDevice = !_sample && RepetitionPenalty == 1f;
        _counts = new int[cache.BatchSize];
        _starts = new int[cache.BatchSize];
        _fed = new int[cache.BatchSize];
        _depths = new int[cache.BatchSize];
        _lastLogits = _argmaxOnDevice ? [] : new float[cache.BatchSize * _vocab];
        _lastArgmax = new int[cache.BatchSize];
        _scratch = new float[_vocab];
        _seen = new bool[_vocab];
    }

    /// <summary>A separate, smaller model with the target's vocabulary drafts over its own full cache.</summary>
    public static ModelDrafter ForDraftModel(IDecoder draft, ModelManifest target, int batchSize, SamplingOptions sampling)
    {
        ArgumentNullException.ThrowIfNull(draft);
        ArgumentNullException.ThrowIfNull(target);
        if (draft.Manifest.VocabSize != target.VocabSize)
            throw new CondensaException($"Incompatible draft: vocabulary mismatch (draft has {draft.Manifest.VocabSize} tokens, target " +
                $"{target.VocabSize}); a draft must share the target's tokenizer.");
        return new ModelDrafter(draft, draft.CreateCache(batchSize), sampling, selfSpeculation: false);
    }

    /// <summary>MagicDec self-speculation: the target drafts for itself while reading only a sink + window budget, so a
    /// draft pass costs the same at any context length. The budget is seeded with the target's prefill KV, and after
    /// each round the target's own KV of the accepted tokens replaces the draft's (no second prefill). The budget's
    /// slack must hold a whole proposal of up to <paramref name="maxNodes"/> nodes, so it never evicts a window position.
    /// <paramref name="drafter"/>, when given, is another export of the target's checkpoint (half precision for a float32
    /// target, say, whose passes cost less) that runs the drafts over the budget, seeded with the target's entries
    /// converted to its precision; verification stays the target's, so the output is the target's either way.</summary>
    public static ModelDrafter ForSelfSpeculation(IDecoder target, KvBudget budget, int maxNodes, int batchSize, SamplingOptions sampling,
        IDecoder? drafter = null)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(budget);
        if (budget.Slack < maxNodes)
            throw new ArgumentException($"the budget's slack ({budget.Slack}) must hold a whole draft of up to {maxNodes} nodes", nameof(budget));
        if (drafter is not null) SelfDrafter.Check(target.Manifest, drafter.Manifest);
        var model = drafter ?? target;
        return new ModelDrafter(model, model.CreateCache(batchSize, new KvCacheOptions { Budget = budget }), sampling, selfSpeculation: true);
    }

    /// <inheritdoc />
    public string Name => _selfSpeculation ? "self" : "draft";

    /// <inheritdoc />
    public bool SamplesDrafts => _sample;

    /// <summary>Tokens run through the draft model so far (catch-up and every level pass), a measure of draft work.</summary>
    public long TokensFed { get; private set; }

    private float RepetitionPenalty { get; }

    /// <inheritdoc />
    public void RowStarted(KvCache target, int row)
    {
        // The draft keeps what it holds of a conversation the target continues (the same step across turns) and drops the
        // rest. A draft model catches up from the row's tokens; a budget takes the target's own entries it lacks.
        var start = target.Lengths[row];
        if (!_selfSpeculation) _cache.Reserve(target.Capacity);   // as planned for the target: no regrowth while drafting
        _cache.RewindTo(row, Math.Min(_cache.Lengths[row], start));
        if (_selfSpeculation && _cache.Lengths[row] < start)
            target.CopyRowInto(_cache, row, _cache.Lengths[row], start - _cache.Lengths[row], row);
    }

    /// <inheritdoc />
    /// <remarks>A budget takes the target's entries of the chunk. A draft model runs the chunk itself, so its prompt costs
    /// prefill time as the target's does, not the first round's: at batch 1 in its cache, at batch > 1 alone on a batch-1
    /// side cache whose entries are copied into the row (as the batcher prefills a target row; fed with the other rows,
    /// a prompt would go <see cref="IDecoder.LongestRowsPass"/> tokens a pass, each pass reading every row's cache). A row
    /// out of step with the target (a conversation the draft kept less of) is left to <see cref="Propose"/>'s catch-up.</remarks>
    public void PrefillPassed(KvCache source, int sourceRow, int row, ReadOnlySpan<int> chunk)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (_selfSpeculation)
        {
            source.CopyLastPassRowInto(_cache, sourceRow, row, chunk.Length);
            return;
        }
        var before = _cache.Lengths[row];
        if (before != source.Lengths[sourceRow] - chunk.Length) return;
        _sideCount[0] = chunk.Length;
        if (_cache.BatchSize == 1)
        {
            FeedOneRow(_cache, chunk, row);
        }
        else
        {
            _side ??= _model.CreateCache(1);
            if (before == 0)
            {
                _side.Clear();
                _sideRow = row;
            }
            if (_sideRow != row || _side.Lengths[0] != before) return;
            FeedOneRow(_side, chunk, row);
            _side.CopyLastPassRowInto(_cache, sourceRow: 0, row, chunk.Length);
        }
        TokensFed += chunk.Length;
    }

    // A batch-1 cache's pass over a prompt chunk of row `row`, keeping what drafts that row's next token.
    private void FeedOneRow(KvCache cache, ReadOnlySpan<int> chunk, int row)
    {
        var inputs = new ForwardInputs(chunk, _sideCount, LogitsSelection.LastPerRow);
        if (_argmaxOnDevice) _lastArgmax[row] = _model.ForwardGreedy(cache, inputs)[0];
        else _model.Forward(cache, inputs)[.._vocab].CopyTo(_lastLogits.AsSpan(row * _vocab, _vocab));
    }

    /// <inheritdoc />
    /// <remarks>Each document's draft entries (its cache row, in one copy for all), its sampler and the logits after its last
    /// fed token move; the document that last held a destination row left its entries there until a new one started.</remarks>
    public void RowsMoved(KvCache target, ReadOnlySpan<RowMove> moves)
    {
        foreach (var (from, to) in moves)
        {
            _cache.RewindTo(to, 0);
            (_samplers[to], _samplers[from]) = (_samplers[from], _samplers[to]);
            _lastArgmax[to] = _lastArgmax[from];
            if (!_argmaxOnDevice) _lastLogits.AsSpan(from * _vocab, _vocab).CopyTo(_lastLogits.AsSpan(to * _vocab, _vocab));
            if (_sideRow == from) _sideRow = -1;
        }
        _cache.MoveRows(moves);
    }

    /// <inheritdoc />
    public void Propose(KvCache target, IReadOnlyList<List<int>> rows, ReadOnlySpan<bool> active, TreeShape shape, TreeDrafts output)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(shape);
        if (shape.Count > output.MaxNodes) throw new ArgumentException($"a {shape.Count}-node tree exceeds the buffers' {output.MaxNodes}", nameof(shape));
        output.HasDistributions = _sample;
        EnsureBuffers(rows.Count, output.MaxNodes);
        var drafts = false;
        for (var b = 0; b < rows.Count; b++) drafts |= active[b] && output.DepthLimits[b] > 0;
        if (shape.Depth == 0 || !drafts)
        {
            ProposeRootOnly(rows, active, output);
            return;
        }
        if (_selfSpeculation) TakeTargetEntries(target, active);
        if (shape.Count == shape.Depth + 1) ProposeChain(rows, active, shape, output);
        else ProposeTree(rows, active, shape, output);
    }

    // A round in which no row has room for a draft drafts nothing: no catch-up and, for a budget, no copy of the target's
    // new entry either (Commit); the draft catches up when a tree next needs it, as after the rounds the planner made
    // root-only (SpeculativeDecodeStep runs those as plain steps, without the drafter).
    private void ProposeRootOnly(IReadOnlyList<List<int>> rows, ReadOnlySpan<bool> active, TreeDrafts output)
    {
        for (var b = 0; b < rows.Count; b++)
        {
            _fed[b] = 0;
            _starts[b] = _cache.Lengths[b];
            if (active[b]) output.Trees[b].Reset(rows[b][^1]);
        }
    }

    // A chain: the catch-up feeds the root too, then each pass feeds only the newest draft (every cached node is an
    // ancestor of the next, so the causal mask is the tree mask).
    private void ProposeChain(IReadOnlyList<List<int>> rows, ReadOnlySpan<bool> active, TreeShape shape, TreeDrafts output)
    {
        CatchUp(rows, active, through: 0);
        var maxDepth = Begin(rows, active, shape, output, rootFed: true);
        for (var d = 0; d < maxDepth; d++)
        {
            // 1) the child of level d's node from the logits after it; 2) feed it when a deeper level follows
            for (var b = 0; b < rows.Count; b++)
            {
                _counts[b] = 0;
                var tree = output.Trees[b];
                if (!active[b] || d >= _depths[b] || tree.Count != d + 1) continue;   // done, or q ran out of tokens
                if (_argmaxOnDevice) AddArgmaxChild(tree, d, shape, _lastArgmax[b], b, output.MaxNodes);
                else AddChildren(rows[b], tree, d, shape, _lastLogits.AsSpan(b * _vocab, _vocab), b, output);
                if (tree.Count == d + 2 && d + 1 < _depths[b])
                {
                    _tokens[b] = tree.Tokens[d + 1];
                    _counts[b] = 1;
                }
            }
            if (!_counts.AsSpan().Contains(1)) break;
            FeedLast(_tokens.AsSpan(0, rows.Count));
            for (var b = 0; b < rows.Count; b++) _fed[b] += _counts[b];
        }
    }

    // A branching tree: one pass per level, each row still growing re-feeding its whole tree (depth <= d) after its prefix.
    private void ProposeTree(IReadOnlyList<List<int>> rows, ReadOnlySpan<bool> active, TreeShape shape, TreeDrafts output)
    {
        CatchUp(rows, active, through: 1);
        var maxDepth = Begin(rows, active, shape, output, rootFed: false);
        var batch = rows.Count;
        for (var d = 0; d < maxDepth; d++)
        {
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

            // children of level d, in rank order, where the shape has them
            for (var b = 0; b < batch; b++)
            {
                if (_counts[b] == 0) continue;
                _fed[b] = _counts[b];
                var tree = output.Trees[b];
                for (var node = tree.CountThroughDepth(d - 1); node < _counts[b]; node++)
                    AddChildren(rows[b], tree, node, shape, logits.Slice((b * seqLen + node) * _vocab, _vocab), b, output);
                tree.Truncate(_cache.MaxCapacity - _starts[b]);   // the next level feeds every node from the root's slot on
            }
        }
    }

    /// <summary>Resets every active row's tree to its root; returns the deepest level any row drafts.</summary>
    private int Begin(IReadOnlyList<List<int>> rows, ReadOnlySpan<bool> active, TreeShape shape, TreeDrafts output, bool rootFed)
    {
        var maxDepth = 0;
        for (var b = 0; b < rows.Count; b++)
        {
            _fed[b] = 0;
            if (!active[b]) continue;
            _fed[b] = rootFed ? 1 : 0;
            _starts[b] = rows[b].Count - 1;   // the root's position
            output.Trees[b].Reset(rows[b][^1]);
            _shapeNode[b * output.MaxNodes] = 0;
            _depths[b] = Math.Min(shape.Depth, output.DepthLimits[b]);
            maxDepth = Math.Max(maxDepth, _depths[b]);
        }
        return maxDepth;
    }

    /// <inheritdoc />
    public void Commit(KvCache target, ReadOnlySpan<int> lengthsBefore, TreeDrafts drafts, ReadOnlySpan<bool> active)
    {
        for (var b = 0; b < _cache.BatchSize; b++)
        {
            _counts[b] = 0;
            if (!active[b]) continue;
            var path = drafts.Path(b);
            if (_selfSpeculation)
            {
                // The target's (full-context) KV of the root and accepted drafts replaces the draft's own entries: rewind here,
                // copy every row's below in one go (one copy run on a device, not one per row). A round of the root alone
                // copies nothing: the budget takes what it lacks when it next drafts (TakeTargetEntries).
                _cache.RewindTo(b, Math.Min(lengthsBefore[b], _cache.Lengths[b]));
                if (drafts.Trees[b].Count > 1 && _cache.Lengths[b] == lengthsBefore[b]) _counts[b] = path.Length;
                continue;
            }
            // The draft holds the nodes it fed; keep the accepted ones (a prefix of the path, which may end in an unfed leaf:
            // that token is caught up next round, like the bonus token).
            var kept = 0;
            while (kept < path.Length && path[kept] < _fed[b]) kept++;
            _cache.KeepPath(b, _starts[b], path[..kept]);
        }
        if (_selfSpeculation) target.CopyLastPassInto(_cache, _counts);
    }

    // Self-speculation after rounds of the root alone, which left the budget behind the target: every entry the target
    // gained since, in one copy (the target writes in place, so each row's last entries are the missing ones).
    private void TakeTargetEntries(KvCache target, ReadOnlySpan<bool> active)
    {
        var behind = false;
        for (var b = 0; b < _counts.Length; b++)
        {
            _counts[b] = active[b] ? target.Lengths[b] - _cache.Lengths[b] : 0;
            behind |= _counts[b] > 0;
        }
        if (behind) target.CopyLastPassInto(_cache, _counts);
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

    /// <summary>Feeds every active row's unseen committed tokens but the last <paramref name="through"/> (0: through the
    /// root), in chunks, keeping the logits after each row's last fed token.</summary>
    private void CatchUp(IReadOnlyList<List<int>> rows, ReadOnlySpan<bool> active, int through)
    {
        while (true)
        {
            var seqLen = 0;
            for (var b = 0; b < rows.Count; b++)
            {
                _counts[b] = active[b] ? Math.Clamp(rows[b].Count - through - _cache.Lengths[b], 0, CatchUpChunk) : 0;
                seqLen = Math.Max(seqLen, _counts[b]);
            }
            if (seqLen == 0) return;
            seqLen = _model.PassLength(seqLen);
            if (_catchUp.Length < rows.Count * seqLen) _catchUp = new int[rows.Count * Math.Max(seqLen, CatchUpChunk)];
            var tokens = _catchUp.AsSpan(0, rows.Count * seqLen);
            tokens.Clear();   // padding
            for (var b = 0; b < rows.Count; b++)
                for (var j = 0; j < _counts[b]; j++) tokens[b * seqLen + j] = rows[b][_cache.Lengths[b] + j];
            FeedLast(tokens);
        }
    }

    // One pass over _counts[b] tokens a row, keeping what drafts each fed row's next token: its argmax where
    // _argmaxOnDevice, else its logits.
    private void FeedLast(ReadOnlySpan<int> tokens)
    {
        var inputs = new ForwardInputs(tokens, _counts, LogitsSelection.LastPerRow);
        var argmax = _argmaxOnDevice ? _model.ForwardGreedy(_cache, inputs) : default;
        var logits = _argmaxOnDevice ? default : _model.Forward(_cache, inputs);
        for (var b = 0; b < _counts.Length; b++)
        {
            if (_counts[b] == 0) continue;
            TokensFed += _counts[b];
            if (_argmaxOnDevice) _lastArgmax[b] = argmax[b];
            else logits.Slice(b * _vocab, _vocab).CopyTo(_lastLogits.AsSpan(b * _vocab, _vocab));
        }
    }

    /// <summary>A greedy chain's next node: the model's argmax after the node (what <see cref="AddChildren"/> picks from
    /// the logits when no penalty applies, the first maximum on a tie).</summary>
    private void AddArgmaxChild(TokenTree tree, int node, TreeShape shape, int token, int b, int maxNodes)
    {
        var shapeNode = _shapeNode[b * maxNodes + node];
        if (shape.ChildCount(shapeNode) == 0) return;
        _shapeNode[b * maxNodes + tree.Add(node, token)] = shape.Child(shapeNode, 0);
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
    public void Dispose()
    {
        _cache.Dispose();
        _side?.Dispose();
    }
}
