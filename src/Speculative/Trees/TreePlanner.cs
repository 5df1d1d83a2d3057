namespace Condensa.Speculative.Trees;

/// <summary>
/// Chooses the draft tree for a round: the Sequoia tree of (m nodes, depth d) that maximises expected tokens per
/// second, G(m, d) / (t_draft(tree) + t_verify(m)), with both times from the calibrated step-time models at the
/// round's batch size and context. Verification of m tokens costs about one decode step while the KV read dominates, so
/// longer contexts and larger batches make bigger trees pay; the choice is redone every round. The rounds measured weigh
/// the predicted rates of plain and drafting rounds at their batch (<see cref="PlanCorrection"/>), so a tree the
/// calibration overrates gives way to plain decoding, and drafting is probed now and then while it does. A pinned size or
/// depth restricts the search to it.
/// </summary>
public sealed class TreePlanner : IDraftPlanner
{
    private readonly TreeCalibration _calibration;
    private readonly TreeBuilder _builder;
    private readonly int? _nodes, _depth;
    private readonly TreeShape?[,] _shapes;      // [m, d] built on first use
    private readonly int[]?[,] _levelCounts;     // [m, d] nodes through each depth: what each draft pass feeds
    private readonly Dictionary<(int Batch, int Contexts), (int Nodes, int Depth)> _chosen = [];   // Choose's, by batch and context / ContextStep
    private readonly Dictionary<int, (int Nodes, int Depth, int Context)> _lastChoice = [];        // by batch: the round Observe prices
    private readonly Dictionary<int, (int Nodes, int Depth)> _probeSecondRounds = [];               // by batch: a probe's round due next
    private readonly PlanCorrection _correction = new();
    private readonly Func<int, int, bool> _couldPay;   // CouldPay, made once: a lambda per plain round would allocate on the decode loop
    private bool _afterPlainRound;

    // Contexts a round's choice is reused over. The search (every size and depth) took 0.19 ms here and cost tree rounds of the
    // root alone 2-16 % against plain decoding on cuda, whose batch-1 step is 0.28 ms (round 14); 64 tokens move a choice
    // less than the context itself does in 64 rounds.
    private const int ContextStep = 64;

    /// <summary>Creates a planner; <paramref name="nodes"/> / <paramref name="depth"/> pin the size / depth when given.</summary>
    public TreePlanner(TreeCalibration calibration, int? nodes = null, int? depth = null, int maxNodes = Speculation.DefaultMaxTreeNodes, int maxDepth = 12)
    {
        _calibration = calibration ?? throw new ArgumentNullException(nameof(calibration));
        if (nodes is < 1) throw new ArgumentOutOfRangeException(nameof(nodes), nodes, "a tree has at least one node");
        if (depth is < 1) throw new ArgumentOutOfRangeException(nameof(depth), depth, "the tree depth must be at least 1");
        MaxNodes = Math.Max(maxNodes, nodes ?? 1);
        var deepest = Math.Max(maxDepth, depth ?? 1);
        (_nodes, _depth) = (nodes, depth);
        _builder = new TreeBuilder(calibration.Acceptance, MaxNodes, deepest);
        _shapes = new TreeShape?[MaxNodes + 1, deepest + 1];
        _levelCounts = new int[]?[MaxNodes + 1, deepest + 1];
        _couldPay = CouldPay;
    }

    /// <summary>Largest tree this planner returns (size the buffers and a self-speculation budget's slack by it).</summary>
    public int MaxNodes { get; }

    /// <summary>The solved dynamic program.</summary>
    public TreeBuilder Builder => _builder;

    /// <summary>The best tree for a round of <paramref name="batch"/> active rows at <paramref name="context"/> tokens. Until
    /// a plain round has been measured at the batch's rows (two: the first may include a capture), the root alone, unless
    /// the size is pinned: the choices weigh plain and drafting rounds alike by what they measured. Where plain decoding is
    /// chosen after drafting rounds measured too slow, drafting's best tree now and then in its place, two rounds running
    /// (<see cref="PlanCorrection.ProbeDrafting"/>): the first catches the drafter up, the second is timed.</summary>
    public TreeShape Choose(int batch, int context)
    {
        (int Nodes, int Depth) best;
        lock (_chosen)   // one planner may serve several generations at once (SpeculativeOptions.Planner)
        {
            if (_nodes is null && !_correction.Measured(batch, drafting: false)) best = (1, 1);
            else if (!_probeSecondRounds.Remove(batch, out best)) best = Planned(batch, context);
            _lastChoice[batch] = (best.Nodes, best.Depth, context);
        }
        return Shape(best.Nodes, best.Depth);
    }

    // The best tree at the batch and context (chosen once a ContextStep), or where that is the root alone and a probe of
    // drafting is due, drafting's best tree, for this round and the next.
    private (int Nodes, int Depth) Planned(int batch, int context)
    {
        var key = (batch, context / ContextStep);
        if (!_chosen.TryGetValue(key, out var best)) _chosen[key] = best = Best(batch, context);
        if (best.Nodes > 1) _correction.DraftingChosen(batch);
        else if (_correction.ProbeDrafting(batch, context, _couldPay)) _probeSecondRounds[batch] = best = Best(batch, context, minNodes: 2);
        return best;
    }

    // Whether some tree would beat plain decoding were every draft accepted (its depth + 1 tokens a row), its round taking
    // what drafting rounds measured at the batch against their predictions.
    private bool CouldPay(int batch, int context)
    {
        var plainRate = _correction.Factor(batch, drafting: false) / Seconds(1, 1, batch, context);
        var time = _correction.DraftingTime(batch);
        for (var m = 2; m <= MaxNodes; m++)
        for (var d = 1; d <= Math.Min(m - 1, _builder.MaxDepth); d++)
            if (!double.IsNegativeInfinity(_builder.ExpectedTokens(m, d)) && (Shape(m, d).Depth + 1) / (Seconds(m, d, batch, context) * time) > plainRate)
                return true;
        return false;
    }

    /// <inheritdoc />
    TreeShape IDraftPlanner.Next(int activeRows, int context) => Choose(activeRows, context);

    /// <summary>Weighs the round's measured rate (1 + accepted drafts a row, over its draft and verify time) against the
    /// rate predicted for the tree chosen for it, and chooses again at that batch where the factor moved. A drafting round
    /// right after a plain one does not count: a drafter that keeps state (a draft model's cache, a budget) catches up in
    /// it on the tokens the plain rounds committed.</summary>
    public void Observe(TreeShape shape, int activeRows, int longestProposal, int proposed, int accepted, TimeSpan draftTime, TimeSpan verifyTime)
    {
        var seconds = (draftTime + verifyTime).TotalSeconds;
        var drafting = shape.Count > 1;
        lock (_chosen)
        {
            var catchUp = drafting && _afterPlainRound;
            _afterPlainRound = !drafting;
            if (catchUp || seconds <= 0 || activeRows < 1 || !_lastChoice.TryGetValue(activeRows, out var chosen) || chosen.Nodes != shape.Count) return;
            var predictedSeconds = Seconds(chosen.Nodes, chosen.Depth, activeRows, chosen.Context);
            var predicted = _builder.ExpectedTokens(chosen.Nodes, chosen.Depth) / predictedSeconds;
            if (!_correction.Observe(activeRows, drafting, (1 + (double)accepted / activeRows) / seconds, predicted, seconds / predictedSeconds)) return;
            foreach (var key in _chosen.Keys.Where(k => PlanCorrection.SameRows(k.Batch, activeRows)).ToList()) _chosen.Remove(key);
        }
    }

    /// <summary>(nodes, depth) of the best tree: the highest predicted tokens per second, weighed by what rounds of its kind
    /// (plain or drafting) measured at the batch against their predictions.</summary>
    public (int Nodes, int Depth) Best(int batch, int context) => Best(batch, context, minNodes: 1);

    private (int Nodes, int Depth) Best(int batch, int context, int minNodes)
    {
        var best = (Nodes: 1, Depth: 0);
        var bestRate = double.MinValue;
        for (var m = _nodes ?? minNodes; m <= (_nodes ?? MaxNodes); m++)
        for (var d = _depth ?? 1; d <= (_depth ?? _builder.MaxDepth); d++)
        {
            if (_depth is null && m > 1 && d > m - 1) break;   // a deeper bound than m - 1 changes nothing
            var g = _builder.ExpectedTokens(m, d);
            if (double.IsNegativeInfinity(g)) continue;
            var rate = g / Seconds(m, d, batch, context) * _correction.Factor(batch, drafting: m > 1);
            if (rate > bestRate) (best, bestRate) = ((m, d), rate);
        }
        return best;
    }

    /// <summary>Predicted seconds of a round with the (m, d) tree: a draft pass per level (each feeding the tree so far)
    /// plus one verification pass of m tokens; the root alone is a plain decoding step (<see cref="TreeCalibration.Plain"/>),
    /// which the decode step runs as plain decoding does; a chain (m = d + 1) drafts one token a pass and verifies without a
    /// tree mask, as the drafter and the decode step run it (<see cref="TreeCalibration.ChainDraft"/>,
    /// <see cref="TreeCalibration.ChainTarget"/>).</summary>
    public double Seconds(int nodes, int depth, int batch, int context)
    {
        if (nodes == 1 && _calibration.Plain is { } plain) return Math.Max(plain.Seconds(batch, 1, context), 1e-12);
        if (nodes > 1 && Shape(nodes, depth) is var shape && shape.Count == shape.Depth + 1)
            return Math.Max(_calibration.ChainRoundSeconds(batch, nodes - 1, context), 1e-12);
        var draftContext = Math.Min(context, _calibration.DraftContextLimit ?? int.MaxValue);
        var levels = LevelCounts(nodes, depth);
        var seconds = _calibration.Target.Seconds(batch, nodes, context);
        for (var level = 0; level < levels.Length - 1; level++) seconds += _calibration.Draft.Seconds(batch, levels[level], draftContext);
        return Math.Max(seconds, 1e-12);
    }

    /// <summary>The Sequoia tree of (m, d), cached.</summary>
    public TreeShape Shape(int nodes, int depth) => _shapes[nodes, depth] ??= _builder.Build(nodes, depth);

    private int[] LevelCounts(int nodes, int depth)
    {
        if (_levelCounts[nodes, depth] is { } cached) return cached;
        var shape = Shape(nodes, depth);
        return _levelCounts[nodes, depth] = [.. Enumerable.Range(0, shape.Depth + 1).Select(shape.CountThroughDepth)];
    }
}
