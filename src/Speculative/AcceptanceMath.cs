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

    /// <summary>Speedup over plain decoding: Ω / (γ·T_draft/T_target + T_verify(γ)/T_target).</summary>
    public static double Speedup(int gamma, double alpha, double draftStep, double verify, double targetStep) =>
        ExpectedTokensPerRound(gamma, alpha) / ((gamma * draftStep + verify) / targetStep);
}
