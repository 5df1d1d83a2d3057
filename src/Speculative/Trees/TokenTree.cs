namespace Condensa.Speculative.Trees;

/// <summary>
/// A drafted token tree, flattened breadth-first: node 0 is the root (the row's last committed token, not yet in the
/// target cache), every node's parent comes before it, and the children of a node are consecutive and in draft order.
/// Nodes are appended level by level, parent by parent, which is exactly what keeps those three properties.
/// </summary>
public sealed class TokenTree
{
    private readonly int[] _tokens;
    private readonly int[] _parents;      // -1 for the root
    private readonly int[] _depths;       // root = 0
    private readonly int[] _firstChild;   // index of the first child, or -1
    private readonly int[] _childCount;

    /// <summary>Creates an empty tree that can hold up to <paramref name="capacity"/> nodes.</summary>
    public TokenTree(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _tokens = new int[capacity];
        _parents = new int[capacity];
        _depths = new int[capacity];
        _firstChild = new int[capacity];
        _childCount = new int[capacity];
    }

    /// <summary>Most nodes the tree holds.</summary>
    public int Capacity => _tokens.Length;

    /// <summary>Nodes in the tree (0 before <see cref="Reset"/>).</summary>
    public int Count { get; private set; }

    /// <summary>[Count] token of each node.</summary>
    public ReadOnlySpan<int> Tokens => _tokens.AsSpan(0, Count);

    /// <summary>[Count] parent of each node; -1 for the root.</summary>
    public ReadOnlySpan<int> Parents => _parents.AsSpan(0, Count);

    /// <summary>[Count] depth of each node; the root is 0, so a node's rotary position is prefix length + depth.</summary>
    public ReadOnlySpan<int> Depths => _depths.AsSpan(0, Count);

    /// <summary>Depth of the deepest node.</summary>
    public int MaxDepth => Count == 0 ? -1 : _depths[Count - 1];

    /// <summary>Empties the tree and makes <paramref name="rootToken"/> its root.</summary>
    public void Reset(int rootToken)
    {
        Count = 1;
        (_tokens[0], _parents[0], _depths[0], _firstChild[0], _childCount[0]) = (rootToken, -1, 0, -1, 0);
    }

    /// <summary>Appends a child of <paramref name="parent"/>; returns its index. Parents must be non-decreasing over
    /// the appended nodes (breadth-first, children consecutive).</summary>
    public int Add(int parent, int token)
    {
        if (Count == 0) throw new InvalidOperationException("Reset the tree with its root before adding children.");
        if (Count == Capacity) throw new InvalidOperationException($"the tree is full ({Capacity} nodes).");
        if ((uint)parent >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(parent), parent, $"parent must be one of the {Count} nodes.");
        if (parent < _parents[Count - 1])
            throw new ArgumentException($"node {Count}'s parent {parent} precedes the previous node's parent {_parents[Count - 1]}: add level by level.",
                nameof(parent));
        var node = Count++;
        (_tokens[node], _parents[node], _depths[node], _firstChild[node], _childCount[node]) = (token, parent, _depths[parent] + 1, -1, 0);
        if (_childCount[parent]++ == 0) _firstChild[parent] = node;
        return node;
    }

    /// <summary>Children of <paramref name="node"/>, in draft order, as a range of node indices.</summary>
    public Range Children(int node) => _childCount[node] == 0 ? new Range(0, 0) : new Range(_firstChild[node], _firstChild[node] + _childCount[node]);

    /// <summary>Number of children of <paramref name="node"/>.</summary>
    public int ChildCount(int node) => _childCount[node];

    /// <summary>Nodes with depth at most <paramref name="depth"/> (a prefix of the breadth-first order).</summary>
    public int CountThroughDepth(int depth)
    {
        var n = 0;
        while (n < Count && _depths[n] <= depth) n++;
        return n;
    }

    /// <summary>Keeps the first <paramref name="count"/> nodes, a prefix of the breadth-first order and so still a tree.</summary>
    public void Truncate(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        if (count >= Count) return;
        Count = count;
        for (var i = 0; i < count; i++)
        {
            if (_childCount[i] == 0) continue;
            _childCount[i] = Math.Max(0, Math.Min(_childCount[i], count - _firstChild[i]));
            if (_childCount[i] == 0) _firstChild[i] = -1;
        }
    }

    /// <summary>Writes the tokens from the root's child to <paramref name="node"/> (the drafted tokens on its path)
    /// into <paramref name="tokens"/>; returns how many (the node's depth).</summary>
    public int PathTokens(int node, Span<int> tokens)
    {
        var depth = _depths[node];
        for (var (i, n) = (depth - 1, node); i >= 0; i--, n = _parents[n]) tokens[i] = _tokens[n];
        return depth;
    }
}
