using Condensa.Runtime.Sampling;
namespace Condensa.Speculative.Trees;

/// <summary>Turns the target's logits at a tree node into the law the token after that node's path is sampled from
/// (temperature, filters and repetition penalty with the path as recent history; one-hot for greedy).</summary>
public delegate void TargetLaw(int node, ReadOnlySpan<float> logits, Span<float> p);

/// <summary>
/// Lossless verification of a token tree (Sequoia; SpecInfer's multi-draft speculative sampling with children drawn
/// without replacement), as a pure function of distributions. From the root, at each node: for each child x in draft
/// order accept it when p[x] &gt; u·q[x]; on rejection p = norm(relu(p - q)), q[x] = 0 and q is renormalised, which is
/// the law the next child was drawn from. The walk descends into an accepted child; at a node where no child is
/// accepted the next token is drawn from the current p. With one-hot target distributions this is greedy
/// verification (accept the child equal to the argmax).
/// </summary>
public static class TreeVerifier
{
    /// <summary>
    /// Greedy verification from the target's argmax token at each node alone, what <see cref="Verify"/> does with one-hot
    /// target distributions: from the root, descend into the child whose token is the target's; where none is, that
    /// token is the next one.
    /// </summary>
    /// <param name="tree">The drafted tree; node 0 is the last committed token.</param>
    /// <param name="targetTokens">[tree.Count] the target's argmax per node (entry i predicts the token after node i).</param>
    /// <param name="path">Receives the accepted nodes, root first.</param>
    /// <param name="next">The token after the accepted path.</param>
    /// <returns>Nodes on the accepted path, the root included (1 = no draft accepted).</returns>
    public static int VerifyGreedy(TokenTree tree, ReadOnlySpan<int> targetTokens, Span<int> path, out int next)
    {
        ArgumentNullException.ThrowIfNull(tree);
        if (targetTokens.Length < tree.Count) throw new ArgumentException($"targetTokens must hold {tree.Count} tokens", nameof(targetTokens));
        var length = 0;
        var node = 0;
        while (true)
        {
            path[length++] = node;
            var wanted = targetTokens[node];
            var children = tree.Children(node);
            var accepted = -1;
            for (var child = children.Start.Value; child < children.End.Value && accepted < 0; child++)
                if (tree.Tokens[child] == wanted) accepted = child;
            if (accepted < 0)
            {
                next = wanted;
                return length;
            }
            node = accepted;
        }
    }

    /// <summary>Walks <paramref name="tree"/> from the root.</summary>
    /// <param name="tree">The drafted tree; node 0 is the last committed token.</param>
    /// <param name="target">[tree.Count, vocab] the target's logits per node (row i predicts the token after node i).</param>
    /// <param name="law">Turns a node's logits into its distribution, run only for the nodes the walk visits; null when
    /// <paramref name="target"/> already holds distributions.</param>
    /// <param name="q">[tree.Count, vocab]: row i is the draft distribution node i's children were drawn from, without
    /// replacement; empty means the children were chosen deterministically, i.e. child k's law is one-hot at its token.</param>
    /// <param name="vocab">Vocabulary size.</param>
    /// <param name="random">Source of the uniform draws.</param>
    /// <param name="scratch">2 · vocab floats.</param>
    /// <param name="path">Receives the accepted nodes, root first (at most depth + 1 entries).</param>
    /// <param name="next">The token after the accepted path (correction or bonus).</param>
    /// <returns>Nodes on the accepted path, the root included (1 = no draft accepted).</returns>
    public static int Verify(TokenTree tree, ReadOnlySpan<float> target, TargetLaw? law, ReadOnlySpan<float> q, int vocab, Random random, Span<float> scratch,
        Span<int> path, out int next)
    {
        ArgumentNullException.ThrowIfNull(tree);
        if (target.Length < tree.Count * vocab) throw new ArgumentException($"target must be [{tree.Count}, {vocab}]", nameof(target));
        if (!q.IsEmpty && q.Length < tree.Count * vocab) throw new ArgumentException($"q must be [{tree.Count}, {vocab}] or empty", nameof(q));
        if (scratch.Length < 2 * vocab) throw new ArgumentException($"scratch must hold {2 * vocab} floats", nameof(scratch));
        var p = scratch[..vocab];                 // [vocab] the target's law at this node, minus rejected draft mass
        var qNode = scratch.Slice(vocab, vocab);  // [vocab] the law the next child was drawn from
        var length = 0;
        var node = 0;
        while (true)
        {
            path[length++] = node;
            var logits = target.Slice(node * vocab, vocab);
            if (law is null) logits.CopyTo(p);
            else law(node, logits, p);
            var children = tree.Children(node);
            if (!q.IsEmpty) q.Slice(node * vocab, vocab).CopyTo(qNode);
            var accepted = -1;
            for (var child = children.Start.Value; child < children.End.Value; child++)
            {
                var x = tree.Tokens[child];
                // 1) accept with probability min(1, p/q); a token the draft could not have drawn (q = 0) is rejected
                var qx = q.IsEmpty ? 1f : qNode[x];
                if (qx > 0f && (p[x] >= qx || random.NextDouble() * qx < p[x]))
                {
                    accepted = child;
                    break;
                }
                // 2) rejected: p keeps only the mass the draft under-proposed; the next child comes from q without x
                Subtract(p, q.IsEmpty ? default : qNode, x);
                if (!q.IsEmpty)
                {
                    qNode[x] = 0f;
                    Normalize(qNode);
                }
            }
            if (accepted < 0)
            {
                // 3) no child accepted (or a leaf): the next token comes from what is left of p
                next = Draw(p, random);
                return length;
            }
            node = accepted;
        }
    }

    /// <summary>p = norm(relu(p - q)), q one-hot at x when empty. p == q up to rounding leaves no residual mass
    /// (a rejection that had probability 0); p itself is then the exact law and stays.</summary>
    private static void Subtract(Span<float> p, ReadOnlySpan<float> q, int x)
    {
        var mass = 0.0;
        for (var t = 0; t < p.Length; t++) mass += Math.Max(p[t] - (q.IsEmpty ? (t == x ? 1f : 0f) : q[t]), 0f);
        if (mass <= 1e-12) return;
        var scale = (float)(1 / mass);
        for (var t = 0; t < p.Length; t++) p[t] = Math.Max(p[t] - (q.IsEmpty ? (t == x ? 1f : 0f) : q[t]), 0f) * scale;
    }

    private static void Normalize(Span<float> weights)
    {
        var sum = 0.0;
        foreach (var w in weights) sum += w;
        if (sum <= 0) return;   // every token was drawn: no further child can exist
        var scale = (float)(1 / sum);
        foreach (ref var w in weights) w *= scale;
    }

    internal static int Draw(ReadOnlySpan<float> weights, Random random) => LogitsProcessors.DrawWeighted(weights, random.NextDouble());
}
