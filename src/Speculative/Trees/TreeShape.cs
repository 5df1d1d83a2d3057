namespace Condensa.Speculative.Trees;

/// <summary>
/// The topology of a draft tree, without tokens: nodes breadth-first, each node's children in rank order (the k-th
/// child is the k-th token drawn without replacement from the draft's distribution at that node). The drafter fills it
/// with tokens; <see cref="TreeBuilder"/> makes the Sequoia-optimal one for an acceptance vector.
/// </summary>
public sealed class TreeShape
{
    private readonly int[] _parents;
    private readonly int[] _depths;
    private readonly int[] _childCounts;
    private readonly int[] _firstChild;

    /// <summary>Creates a shape from breadth-first parents (parents[0] = -1; parents non-decreasing after the root).</summary>
    public TreeShape(ReadOnlySpan<int> parents)
    {
        if (parents.IsEmpty || parents[0] != -1) throw new ArgumentException("parents[0] must be -1 (the root)", nameof(parents));
        _parents = parents.ToArray();
        _depths = new int[parents.Length];
        _childCounts = new int[parents.Length];
        _firstChild = new int[parents.Length];
        for (var i = 1; i < parents.Length; i++)
        {
            if (parents[i] < 0 || parents[i] >= i || parents[i] < parents[i - 1])
                throw new ArgumentException($"parents[{i}] = {parents[i]}: parents must precede their children and not decrease (breadth-first)",
                    nameof(parents));
            _depths[i] = _depths[parents[i]] + 1;
            if (_childCounts[parents[i]]++ == 0) _firstChild[parents[i]] = i;
        }
    }

    /// <summary>A chain of <paramref name="depth"/> drafted tokens (plain speculation as a tree).</summary>
    public static TreeShape Chain(int depth) => new([.. Enumerable.Range(-1, depth + 1)]);

    /// <summary>Nodes, the root included (the verification pass feeds this many tokens per row).</summary>
    public int Count => _parents.Length;

    /// <summary>Depth of the deepest node (draft levels; DESIGN.md's l is this + 1).</summary>
    public int Depth => _depths[^1];

    /// <summary>[Count] parent of each node, -1 for the root.</summary>
    public ReadOnlySpan<int> Parents => _parents;

    /// <summary>Children of <paramref name="node"/>.</summary>
    public int ChildCount(int node) => _childCounts[node];

    /// <summary>Index of the k-th child (0-based rank) of <paramref name="node"/>.</summary>
    public int Child(int node, int rank) => (uint)rank < (uint)_childCounts[node] ? _firstChild[node] + rank
        : throw new ArgumentOutOfRangeException(nameof(rank), rank, $"node {node} has {_childCounts[node]} children");

    /// <summary>Nodes with depth at most <paramref name="depth"/> (a prefix of the breadth-first order).</summary>
    public int CountThroughDepth(int depth)
    {
        var n = 0;
        while (n < Count && _depths[n] <= depth) n++;
        return n;
    }

    /// <summary>Expected tokens per round under positional acceptance: the sum over nodes of the product of
    /// acceptance[rank] along the path from the root (the root counts 1: it stands for the bonus token).</summary>
    public double ExpectedTokens(ReadOnlySpan<double> acceptance)
    {
        var reach = new double[Count];
        reach[0] = 1;
        var total = 1.0;
        for (var node = 0; node < Count; node++)
        for (var rank = 0; rank < _childCounts[node]; rank++)
        {
            var child = _firstChild[node] + rank;
            reach[child] = reach[node] * (rank < acceptance.Length ? acceptance[rank] : 0);
            total += reach[child];
        }
        return total;
    }

    /// <inheritdoc />
    public override string ToString() => $"{Count} nodes, depth {Depth}: [{string.Join(',', _parents)}]";
}
