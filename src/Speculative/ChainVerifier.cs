using Condensa.Runtime.Sampling;

namespace Condensa.Speculative;

/// <summary>
/// Lossless verification of a drafted chain (speculative sampling, Leviathan et al. / Chen et al.), as a pure
/// function of distributions. Draft token d_i is accepted with probability min(1, p_i(d_i) / q_i(d_i)); at the first
/// rejection the replacement is drawn from norm(max(p_i - q_i, 0)); when every draft is accepted the bonus token is
/// drawn from the next target distribution. With one-hot (greedy) distributions this reduces to "accept while the
/// draft equals the target's argmax", so one routine serves greedy and sampling.
/// </summary>
public static class ChainVerifier
{
    /// <summary>
    /// Greedy verification from the target's argmax tokens alone, what <see cref="Verify"/> does with one-hot target
    /// distributions whatever the drafts' q: d_i is accepted while it equals the target's token after d_1..d_{i-1}; the
    /// next token is the target's at the first mismatch, or the bonus token when every draft is accepted.
    /// </summary>
    /// <param name="targetTokens">[n + 1] the target's argmax at each verified position (row 0 follows the last committed token).</param>
    /// <param name="drafts">[n] drafted tokens.</param>
    /// <param name="next">The token that follows the accepted drafts.</param>
    /// <returns>How many drafts were accepted (0..n).</returns>
    public static int VerifyGreedy(ReadOnlySpan<int> targetTokens, ReadOnlySpan<int> drafts, out int next)
    {
        if (targetTokens.Length < drafts.Length + 1) throw new ArgumentException($"targetTokens must hold {drafts.Length + 1} tokens", nameof(targetTokens));
        var accepted = 0;
        while (accepted < drafts.Length && drafts[accepted] == targetTokens[accepted]) accepted++;
        next = targetTokens[accepted];
        return accepted;
    }

    /// <summary>Verifies <paramref name="drafts"/> against target distributions.</summary>
    /// <param name="p">[n + 1, vocab] target distributions: row i predicts the token after d_1..d_i (row 0 follows the
    /// last committed token).</param>
    /// <param name="q">[n, vocab] draft distributions d_1..d_n were drawn from; empty means the drafts were chosen
    /// deterministically (prompt lookup, greedy), i.e. q_i is one-hot at d_i.</param>
    /// <param name="drafts">[n] drafted tokens.</param>
    /// <param name="vocab">Vocabulary size.</param>
    /// <param name="random">Source of the uniform draws.</param>
    /// <param name="residual">Scratch of vocab floats.</param>
    /// <param name="next">The token that follows the accepted drafts (correction or bonus).</param>
    /// <returns>How many drafts were accepted (0..n).</returns>
    public static int Verify(ReadOnlySpan<float> p, ReadOnlySpan<float> q, ReadOnlySpan<int> drafts, int vocab, Random random,
        Span<float> residual, out int next)
    {
        var n = drafts.Length;
        if (p.Length < (n + 1) * vocab) throw new ArgumentException($"p must be [{n + 1}, {vocab}]", nameof(p));
        if (!q.IsEmpty && q.Length < n * vocab) throw new ArgumentException($"q must be [{n}, {vocab}] or empty", nameof(q));
        for (var i = 0; i < n; i++)
        {
            var pi = p.Slice(i * vocab, vocab);
            var token = drafts[i];
            var qToken = q.IsEmpty ? 1f : q[i * vocab + token];
            // 1) accept with probability min(1, p/q); a token the draft could not have drawn (q = 0) is rejected
            if (qToken > 0f && (pi[token] >= qToken || random.NextDouble() * qToken < pi[token])) continue;

            // 2) rejected: draw the replacement from the normalised positive part of p - q
            var mass = 0.0;
            for (var t = 0; t < vocab; t++)
            {
                var qt = q.IsEmpty ? (t == token ? 1f : 0f) : q[i * vocab + t];
                residual[t] = Math.Max(pi[t] - qt, 0f);
                mass += residual[t];
            }
            // p == q up to rounding leaves no residual mass; p itself is then the exact law to draw from.
            next = LogitsProcessors.DrawWeighted(mass > 1e-12 ? residual[..vocab] : pi, random.NextDouble());
            return i;
        }
        // 3) all accepted: the bonus token comes from the target's last distribution
        next = LogitsProcessors.DrawWeighted(p.Slice(n * vocab, vocab), random.NextDouble());
        return n;
    }
}
