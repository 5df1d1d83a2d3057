namespace Condensa.Speculative.Tests;

/// <summary>
/// A chain-speculation workload run against a <see cref="GammaController"/> without a model: rows that accept each
/// drafted token with probability α (a rejection ends the chain), passes that cost what a device measured, and
/// run-to-run jitter, all from one seed. <see cref="Milliseconds"/> gives the time a generation takes with the
/// controller's choices, or with a fixed γ (0: plain decoding), so a test can hold the adaptive planner against the best
/// fixed choice over the same rows and costs.
/// </summary>
/// <param name="Rows">Rows generating together (a static batch: the run lasts until its slowest row is done).</param>
/// <param name="Tokens">New tokens each row generates.</param>
/// <param name="Alpha">Per-token acceptance of each row's drafts.</param>
/// <param name="PlainMs">A plain decoding pass.</param>
/// <param name="DraftMs">A round's drafting, by γ.</param>
/// <param name="VerifyMs">A verification of γ drafts a row.</param>
/// <param name="CatchUpMs">What a drafter that keeps state spends catching up on each plain round it sat out (0: drafts cost
/// nothing, as prompt lookup's).</param>
internal sealed record ChainSimulation(int Rows, int Tokens, double Alpha, double PlainMs, Func<int, double> DraftMs, Func<int, double> VerifyMs,
    double CatchUpMs = 0)
{
    /// <summary>Relative spread of every measured time (uniform, ± this share).</summary>
    public double Jitter { get; init; } = 0.1;

    /// <summary>The tokens a row the target runs a verification of n tokens as (a model that replays CUDA graphs pads them to
    /// a power of two: <see cref="Runtime.IDecoder.PassLength"/>); default n.</summary>
    public Func<int, int> PassLength { get; init; } = n => n;

    /// <summary>Acceptance that comes in stretches, as text does: where set, each row's tokens alternate between easy stretches
    /// (drafts accepted at <see cref="Alpha"/>) and hard ones (<see cref="HardStretches.HardAlpha"/>), each of a random length
    /// around its mean; null: every token at <see cref="Alpha"/>.</summary>
    public HardStretches? Stretches { get; init; }

    /// <summary>What a verification of a pass length not run before costs on top (a CUDA graph's capture and ONNX Runtime's
    /// first use of the shape: round 30's timed runs paid 13-37 ms for each new length); plain passes count as run.</summary>
    public double FirstPassMs { get; init; }

    /// <summary>Milliseconds of the generation with γ from <paramref name="controller"/>, or fixed at <paramref name="gamma"/>.</summary>
    public double Milliseconds(int seed, GammaController? controller = null, int gamma = 0, List<int>? choices = null)
    {
        var random = new Random(seed);
        var left = Enumerable.Repeat(Tokens, Rows).ToArray();
        var texts = Enumerable.Range(0, Rows).Select(b => new RowText(Stretches, Alpha, new Random(seed * 1_000_003 + b))).ToArray();
        var (total, behind) = (0.0, 0);
        var lengthsRun = new HashSet<int> { PassLength(1) };
        while (left.Any(n => n > 0))
        {
            var g = controller?.Next() ?? gamma;
            choices?.Add(g);
            double Noisy(double ms) => ms * (1 + Jitter * (2 * random.NextDouble() - 1));
            if (g == 0)
            {
                var plain = Noisy(PlainMs);
                total += plain;
                behind++;
                for (var b = 0; b < Rows; b++) left[b]--;
                controller?.Observe(0, 0, 0, TimeSpan.Zero, TimeSpan.FromMilliseconds(plain));
                continue;
            }
            var (proposed, accepted) = (0, 0);
            for (var b = 0; b < Rows; b++)
            {
                if (left[b] <= 0) continue;
                var n = 0;
                while (n < g && random.NextDouble() < texts[b].AlphaAt(Tokens - left[b] + n)) n++;
                proposed += g;
                accepted += n;
                left[b] -= n + 1;
            }
            var draft = Noisy(DraftMs(g) + CatchUpMs * behind);
            var verify = Noisy(VerifyMs(g)) + (lengthsRun.Add(PassLength(g + 1)) ? FirstPassMs : 0);
            behind = 0;
            total += draft + verify;
            controller?.Observe(g, proposed, accepted, TimeSpan.FromMilliseconds(draft), TimeSpan.FromMilliseconds(verify));
        }
        return total;
    }

    /// <summary>The fastest fixed choice of γ = 0 (plain decoding) .. <paramref name="maxGamma"/> on <paramref name="seed"/>'s rows.</summary>
    public (int Gamma, double Milliseconds) BestFixed(int seed, int maxGamma = Speculation.DefaultMaxGamma) =>
        Enumerable.Range(0, maxGamma + 1).Select(g => (g, Milliseconds(seed, gamma: g))).MinBy(x => x.Item2);

    /// <summary>Stretches of hard text among easy: drafts accepted at <paramref name="HardAlpha"/> over stretches of about
    /// <paramref name="HardTokens"/> tokens, between easy stretches of about <paramref name="EasyTokens"/>.</summary>
    public sealed record HardStretches(double HardAlpha, int EasyTokens, int HardTokens);

    // One row's text: the acceptance rate at each of its positions, its stretches drawn as generation reaches them (a row's
    // own random source, so every γ run on a seed meets the same text).
    private sealed class RowText(HardStretches? stretches, double easyAlpha, Random random)
    {
        private readonly List<(int End, double Alpha)> _stretches = [];

        public double AlphaAt(int position)
        {
            if (stretches is null) return easyAlpha;
            while (_stretches.Count == 0 || _stretches[^1].End <= position)
            {
                var hard = _stretches.Count % 2 == 1;
                var mean = hard ? stretches.HardTokens : stretches.EasyTokens;
                var start = _stretches.Count == 0 ? 0 : _stretches[^1].End;
                _stretches.Add((start + 1 + (int)(-mean * Math.Log(1 - random.NextDouble())), hard ? stretches.HardAlpha : easyAlpha));
            }
            return _stretches.First(s => s.End > position).Alpha;
        }
    }
}
