namespace Condensa.Speculative;

/// <summary>
/// What chains of each length get accepted, as the <see cref="GammaController"/> learns it from its rounds. Two estimates,
/// both sums with older rounds discounted: the per-token rate α under which chains of the γ measured accept the share of
/// their drafts measured (the chain model, <see cref="AcceptanceMath.AlphaForAcceptedShare"/>), and, by γ, the drafts
/// chains of that γ got accepted. A chain's expected yield is the latter shrunk toward the chain model by the weight of
/// <see cref="ModelChains"/> chains: rows that accept all or nothing (prompt lookup's) and text that comes in stretches
/// yield more at long γ than one α fitted to short chains predicts, and less at short γ than one fitted to long chains,
/// while an old measurement at a γ no round runs any more gives way to the model the newer rounds set.
/// </summary>
internal sealed class ChainAcceptance
{
    // A round's discount follows the chains it holds, one a row: at one row a memory of five rounds took a hard stretch for
    // a fall (round 30 k at 1 x 7,680: eleven γ = 12 rounds accepted everything, then 5, 0 and 2 of 12, and plain decoding
    // followed for 400 rounds where γ = 12 ran 1.22x), while a round of 32 rows averages 32 chains: 0.95 a row, but never
    // below MostDiscount a round, what every round had before.
    private const double RowDiscount = 0.95, MostDiscount = 0.8;
    private const double ModelChains = 1;
    // Before any round: a prior of one draft at a share of 0.75, weak enough that the first rounds outweigh it.
    private double _accepted = 0.75, _proposed = 1, _proposedGammas = 1;
    private readonly double[] _acceptedAt, _chainsAt;   // by γ

    public ChainAcceptance(int maxGamma)
    {
        (_acceptedAt, _chainsAt) = (new double[maxGamma + 1], new double[maxGamma + 1]);
        Alpha = AlphaOfTheSums();
    }

    /// <summary>The per-token rate under which chains of the γ measured accept the share of their drafts measured.</summary>
    public double Alpha { get; private set; }

    /// <summary>Records a round that verified chains of <paramref name="gamma"/> drafts, <paramref name="proposed"/> drafts in
    /// all (γ a row), <paramref name="accepted"/> of them accepted.</summary>
    public void Observe(int gamma, int proposed, int accepted)
    {
        if (proposed <= 0) return;
        var discount = Math.Max(MostDiscount, Math.Pow(RowDiscount, Math.Max(proposed / gamma, 1)));
        _accepted = discount * _accepted + accepted;
        _proposed = discount * _proposed + proposed;
        _proposedGammas = discount * _proposedGammas + (double)proposed * gamma;
        for (var g = 1; g < _acceptedAt.Length; g++) (_acceptedAt[g], _chainsAt[g]) = (discount * _acceptedAt[g], discount * _chainsAt[g]);
        _acceptedAt[gamma] += accepted;
        _chainsAt[gamma] += (double)proposed / gamma;
        Alpha = AlphaOfTheSums();
    }

    private double AlphaOfTheSums() => AcceptanceMath.AlphaForAcceptedShare(_proposedGammas / _proposed, _accepted / _proposed);

    /// <summary>Drafts a chain of <paramref name="gamma"/> is expected to get accepted: those measured at γ, shrunk toward
    /// the chain model's Ω(γ, α) - 1.</summary>
    public double ExpectedAccepted(int gamma) =>
        (_acceptedAt[gamma] + ModelChains * (AcceptanceMath.ExpectedTokensPerRound(gamma, Alpha) - 1)) / (_chainsAt[gamma] + ModelChains);
}
