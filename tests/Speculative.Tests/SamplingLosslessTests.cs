namespace Condensa.Speculative.Tests;

/// <summary>
/// Speculative sampling through the whole stack keeps the target's law: a drafter's passes and draws, the target's
/// verification pass, the acceptance rule and both caches' commits, at temperature 0.8 and top-p 0.95. The second new
/// token of each seeded generation is decided by a round that drafted it (the first comes from the prefill); its counts
/// over <see cref="Runs"/> generations are tested against its exact marginal, Σ p(t1)·p(t2 | t1), from the target's own
/// passes. The verifier tests check the rule on synthetic laws; this checks that the laws and draws reaching it are the
/// right ones (the draft's law its drafts were drawn from, the target's at the drafted position, independent uniforms).
/// The models load on <see cref="TestProvider"/>'s provider: the CPU in CI, cuda on the device machine.
/// </summary>
[TestClass]
public sealed class SamplingLosslessTests
{
    private const int Runs = 3000;
    private static readonly SamplingOptions Sampling = new() { Temperature = 0.8f, TopP = 0.95f };

    [TestMethod]
    [DataRow("draft")]
    [DataRow("self")]
    [DataRow("tree-draft")]
    public void GenerateBatch_Sampling_SecondTokenFollowsTheTargetsLaw(string mode)
    {
        using var target = DecoderModel.Load(TinyExports.Get("spec-target", SpeculationModels.TargetSpec).Export, TestProvider.Settings);
        using var draft = DecoderModel.Load(TinyExports.Get("spec-draft", SpeculationModels.DraftSpec).Export, TestProvider.Settings);
        var prompt = TinyExports.Ids(7, seed: 401);
        var expected = SecondTokenLaw(target, prompt);
        var observed = new double[expected.Length];
        var stats = new SpeculativeStats();
        for (var run = 0; run < Runs; run++)
        {
            var generation = new GenerationOptions { MaxNewTokens = 3, Sampling = Sampling with { Seed = run } };
            using var drafter = mode == "self"
                ? ModelDrafter.ForSelfSpeculation(target, new KvBudget(Sinks: 2, Window: 4, Slack: 8), 4, 1, generation.Sampling)
                : ModelDrafter.ForDraftModel(draft, target.Manifest, 1, generation.Sampling);
            var options = new SpeculativeOptions
            {
                Generation = generation,
                Gamma = 2,
                Planner = mode == "tree-draft" ? new TreePlanner(TreeCalibration.Default(), nodes: 4, depth: 1, maxNodes: 4) : null,
            };
            var tokens = new SpeculativeGenerator(target).GenerateBatch([prompt], drafter, options, stats)[0].Tokens;
            observed[tokens[1]]++;
        }
        Assert.IsGreaterThanOrEqualTo(Runs, stats.Rounds, "every generation drafts its second token");
        var (chi, dof) = PooledChiSquare(observed, expected);
        Assert.IsLessThan(DistributionStatistics.ChiSquareCritical(dof), chi, $"chi-square {chi:F1} on {dof} degrees of freedom");
    }

    [TestMethod]
    public void SecondTokenLawTest_DetectsTheDraftsLaw()
    {
        // The same statistic must reject second tokens that follow another law: the draft model's, whose drafts the
        // speculative runs above mostly reject.
        using var target = DecoderModel.Load(TinyExports.Get("spec-target", SpeculationModels.TargetSpec).Export, TestProvider.Settings);
        using var draft = DecoderModel.Load(TinyExports.Get("spec-draft", SpeculationModels.DraftSpec).Export, TestProvider.Settings);
        var prompt = TinyExports.Ids(7, seed: 401);
        var draftLaw = SecondTokenLaw(draft, prompt);
        var random = new Random(5);
        var observed = new double[draftLaw.Length];
        var weights = draftLaw.Select(p => (float)p).ToArray();
        for (var run = 0; run < Runs; run++) observed[DistributionStatistics.Sample(weights, random)]++;
        var (chi, dof) = PooledChiSquare(observed, SecondTokenLaw(target, prompt));
        Assert.IsGreaterThan(DistributionStatistics.ChiSquareCritical(dof), chi, $"chi-square {chi:F1} on {dof} degrees of freedom");
    }

    /// <summary>The exact law of the second new token after <paramref name="prompt"/>: Σ over the first token t1 of
    /// p(t1 | prompt)·p(t2 | prompt, t1), each the sampling law (temperature, top-p) of one forward pass.</summary>
    private static double[] SecondTokenLaw(DecoderModel model, int[] prompt)
    {
        var vocab = model.Manifest.VocabSize;
        var sampler = new TokenSampler(Sampling, vocab);
        var first = new float[vocab];
        var second = new float[vocab];
        var law = new double[vocab];
        sampler.Distribution(LastLogits(model, prompt), prompt, first);
        for (var t1 = 0; t1 < vocab; t1++)
        {
            if (first[t1] == 0) continue;
            int[] history = [.. prompt, t1];
            sampler.Distribution(LastLogits(model, history), history, second);
            for (var t2 = 0; t2 < vocab; t2++) law[t2] += (double)first[t1] * second[t2];
        }
        return law;
    }

    private static float[] LastLogits(DecoderModel model, int[] tokens)
    {
        using var cache = model.CreateCache(1);
        return model.Forward(cache, tokens, [tokens.Length], LogitsSelection.LastPerRow).ToArray();
    }

    /// <summary>Pearson's chi-square of counts against the law, with the cells expected fewer than 5 times pooled into one
    /// (so the statistic's chi-square law holds); returns it and its degrees of freedom.</summary>
    private static (double Chi, int Dof) PooledChiSquare(double[] observed, double[] law)
    {
        var total = observed.Sum();
        List<double> o = [], e = [];
        double pooledObserved = 0, pooledExpected = 0;
        for (var t = 0; t < law.Length; t++)
        {
            var expected = total * law[t];
            if (expected >= 5) (o, e) = ([.. o, observed[t]], [.. e, expected]);
            else (pooledObserved, pooledExpected) = (pooledObserved + observed[t], pooledExpected + expected);
        }
        if (pooledExpected > 0) (o, e) = ([.. o, pooledObserved], [.. e, pooledExpected]);
        return (DistributionStatistics.ChiSquare([.. o], [.. e]), o.Count - 1);
    }
}
