namespace Condensa.Speculative.Trees;

/// <summary>
/// The Sequoia dynamic program (Chen et al., 2024): for a positional acceptance vector p (p[k] = probability that the
/// k-th ranked draft child of a node is the accepted one), the tree of exactly m nodes and depth at most d that
/// maximises the expected tokens per round. With T(m, d, b) the best value of such a tree whose root has b children:
///   T(1, d, 0) = 1;   T(m, d, 1) = 1 + p_1·G(m-1, d-1);
///   T(m, d, b) = max over 1 &lt;= y &lt; m of T(y, d, b-1) + p_b·G(m-y, d-1);   G(m, d) = max_b T(m, d, b).
/// Depth d counts draft levels (the root is depth 0); DESIGN.md's l is d + 1.
/// </summary>
public sealed class TreeBuilder
{
    private readonly double[] _p;
    private readonly int _maxChildren;
    private readonly double[,] _g;          // [m, d] best expected tokens
    private readonly int[,] _bestChildren;  // [m, d] root children of the best tree
    private readonly double[,,] _t;         // [m, d, b]
    private readonly int[,,] _split;        // [m, d, b] nodes y kept by the first b-1 children (and the root)

    /// <summary>Solves the program for every m &lt;= <paramref name="maxNodes"/> and d &lt;= <paramref name="maxDepth"/>.</summary>
    public TreeBuilder(ReadOnlySpan<double> acceptance, int maxNodes, int maxDepth)
    {
        if (acceptance.IsEmpty) throw new ArgumentException("the acceptance vector is empty", nameof(acceptance));
        foreach (var a in acceptance)
            if (!(a >= 0 && a <= 1)) throw new ArgumentOutOfRangeException(nameof(acceptance), a, "acceptance probabilities lie in [0, 1]");
        ArgumentOutOfRangeException.ThrowIfLessThan(maxNodes, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(maxDepth);
        _p = acceptance.ToArray();
        (MaxNodes, MaxDepth) = (maxNodes, maxDepth);
        _maxChildren = Math.Min(_p.Length, maxNodes - 1);
        _g = new double[maxNodes + 1, maxDepth + 1];
        _bestChildren = new int[maxNodes + 1, maxDepth + 1];
        _t = new double[maxNodes + 1, maxDepth + 1, _maxChildren + 1];
        _split = new int[maxNodes + 1, maxDepth + 1, _maxChildren + 1];
        Solve();
    }

    /// <summary>Largest tree size solved.</summary>
    public int MaxNodes { get; }

    /// <summary>Largest depth solved.</summary>
    public int MaxDepth { get; }

    /// <summary>G(m, d): the most expected tokens per round of a tree of <paramref name="nodes"/> nodes and depth at most
    /// <paramref name="depth"/>; -infinity when no such tree exists (more than one node at depth 0).</summary>
    public double ExpectedTokens(int nodes, int depth) => _g[Check(nodes, depth).Nodes, depth];

    /// <summary>The tree that attains <see cref="ExpectedTokens"/>, breadth-first.</summary>
    public TreeShape Build(int nodes, int depth)
    {
        Check(nodes, depth);
        if (double.IsNegativeInfinity(_g[nodes, depth])) throw new ArgumentException($"no tree of {nodes} nodes has depth {depth}", nameof(nodes));
        // 1) unroll the choices into each node's subtree sizes, children in rank order
        var parents = new List<int> { -1 };
        var queue = new Queue<(int Index, int Nodes, int Depth)>();
        queue.Enqueue((0, nodes, depth));
        var subtrees = new List<int>();
        while (queue.TryDequeue(out var node))
        {
            // 2) children of this node: peel the last child off T(m, d, b) until one child is left
            subtrees.Clear();
            var (m, b) = (node.Nodes, node.Nodes == 1 ? 0 : _bestChildren[node.Nodes, node.Depth]);
            for (; b >= 2; b--)
            {
                var y = _split[m, node.Depth, b];
                subtrees.Add(m - y);
                m = y;
            }
            if (b == 1) subtrees.Add(m - 1);
            subtrees.Reverse();
            // 3) breadth-first: children get the next indices, in rank order
            foreach (var size in subtrees)
            {
                queue.Enqueue((parents.Count, size, node.Depth - 1));
                parents.Add(node.Index);
            }
        }
        return new TreeShape(parents.ToArray());
    }

    private void Solve()
    {
        for (var d = 0; d <= MaxDepth; d++)
        for (var m = 1; m <= MaxNodes; m++)
        {
            for (var b = 0; b <= _maxChildren; b++) _t[m, d, b] = double.NegativeInfinity;
            if (m == 1) _t[1, d, 0] = 1;
            else if (d > 0)
            {
                _t[m, d, 1] = 1 + Weighted(0, _g[m - 1, d - 1]);
                for (var b = 2; b <= Math.Min(_maxChildren, m - 1); b++)
                for (var y = b; y < m; y++)
                {
                    var value = _t[y, d, b - 1] + Weighted(b - 1, _g[m - y, d - 1]);
                    if (value > _t[m, d, b]) (_t[m, d, b], _split[m, d, b]) = (value, y);
                }
            }
            (_g[m, d], _bestChildren[m, d]) = (double.NegativeInfinity, 0);
            for (var b = 0; b <= _maxChildren; b++)
                if (_t[m, d, b] > _g[m, d]) (_g[m, d], _bestChildren[m, d]) = (_t[m, d, b], b);
        }
    }

    // An impossible subtree stays impossible even behind a zero acceptance (0 · -inf would be NaN).
    private double Weighted(int rank, double subtree) => double.IsNegativeInfinity(subtree) ? subtree : _p[rank] * subtree;

    private (int Nodes, int Depth) Check(int nodes, int depth)
    {
        if (nodes < 1 || nodes > MaxNodes) throw new ArgumentOutOfRangeException(nameof(nodes), nodes, $"solved for 1..{MaxNodes} nodes");
        if (depth < 0 || depth > MaxDepth) throw new ArgumentOutOfRangeException(nameof(depth), depth, $"solved for depth 0..{MaxDepth}");
        return (nodes, depth);
    }
}
