namespace Condensa.Speculative;

/// <summary>MagicDec's expected-progress model for chain speculation with per-token acceptance rate α.</summary>
public static class AcceptanceMath
{
    /// <summary>Expected tokens produced per round with γ drafts: Ω = (1 - α^(γ+1)) / (1 - α).</summary>
    public static double ExpectedTokensPerRound(int gamma, double alpha)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(gamma);
        if (alpha >= 1.0) return gamma + 1;
        return (1 - Math.Pow(alpha, gamma + 1)) / (1 - alpha);
    }

    /// <summary>The share of its drafts a chain of <paramref name="gamma"/> accepts on average at per-token rate
    /// <paramref name="alpha"/>: (Ω - 1) / γ = (α - α^(γ+1)) / ((1 - α)·γ). γ may be a mean.</summary>
    public static double AcceptedShare(double gamma, double alpha)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(gamma, 1);
        if (alpha >= 1) return 1;
        return (alpha - Math.Pow(alpha, gamma + 1)) / ((1 - alpha) * gamma);
    }

    /// <summary>
    /// The per-token acceptance rate α under which chains of <paramref name="gamma"/> drafts accept the share
    /// <paramref name="acceptedShare"/> of what they propose on average: accepted / proposed = (Ω - 1) / γ, which is below
    /// α for γ > 1 (a rejection ends the chain), so using the measured share as α undercounts Ω. γ may be a mean.
    /// </summary>
    public static double AlphaForAcceptedShare(double gamma, double acceptedShare)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(gamma, 1);
        if (acceptedShare <= 0) return 0;
        if (acceptedShare >= 1) return 1;
        // the share grows with α from 0 to 1: bisect
        double low = 0, high = 1;
        for (var i = 0; i < 40; i++)
        {
            var alpha = (low + high) / 2;
            if (AcceptedShare(gamma, alpha) < acceptedShare) low = alpha;
            else high = alpha;
        }
        return (low + high) / 2;
    }

    /// <summary>Speedup over plain decoding: Ω / (γ·T_draft/T_target + T_verify(γ)/T_target).</summary>
    public static double Speedup(int gamma, double alpha, double draftStep, double verify, double targetStep) =>
        ExpectedTokensPerRound(gamma, alpha) / ((gamma * draftStep + verify) / targetStep);
}
