namespace Condensa.Speculative.Tests;

[TestClass]
public sealed class SpeculativeGeneratorTests
{
    private static readonly TinyModelSpec TargetSpec = SpeculationModels.TargetSpec;
    private static readonly TinyModelSpec DraftSpec = SpeculationModels.DraftSpec;

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [DataRow("draft", 1, 3)]
    [DataRow("draft", 4, 3)]
    [DataRow("self", 1, 4)]
    [DataRow("self", 4, 4)]
    [DataRow("lookup", 1, 5)]
    [DataRow("lookup", 4, 5)]
    [DataRow("draft", 4, null)]
    [DataRow("self", 4, null)]
    [DataRow("lookup", 4, null)]
    public void GenerateBatch_Greedy_EqualsPlainGreedyTokenForToken(string drafterName, int batch, int? gamma)
    {
        using var target = DecoderModel.Load(TinyExports.Get("spec-target", TargetSpec).Export);
        using var draft = DecoderModel.Load(TinyExports.Get("spec-draft", DraftSpec).Export);
        var prompts = Prompts(batch);
        var generation = new GenerationOptions { MaxNewTokens = 24, PrefillChunk = 5 };
        var plain = new Generator(target).GenerateBatch(prompts, generation);

        using var drafter = Drafter(drafterName, target, draft, batch, generation.Sampling);
        var stats = new SpeculativeStats();
        var speculative = new SpeculativeGenerator(target).GenerateBatch(prompts, drafter,
            new SpeculativeOptions { Generation = generation, Gamma = gamma, MaxGamma = 6 }, stats);

        for (var b = 0; b < batch; b++)
            CollectionAssert.AreEqual(plain[b].Tokens.ToArray(), speculative[b].Tokens.ToArray(), $"row {b}");
        Assert.IsGreaterThan(0, stats.Rounds);
        Assert.IsLessThanOrEqualTo(stats.Proposed, stats.Accepted);
        Assert.AreEqual(stats.Rounds, stats.RoundsByPlannedDrafts.Values.Sum(), "every round counted under the γ it planned");
        if (gamma is { } g) Assert.IsTrue(stats.RoundsByPlannedDrafts.ContainsKey(g) && stats.RoundsByPlannedDrafts.Keys.All(k => k <= g),
            string.Join(", ", stats.RoundsByPlannedDrafts));
        TestContext.WriteLine($"{drafterName} batch {batch}: acceptance {stats.AcceptanceRate:P0}, {stats.MeanAcceptedPerRound:F2} accepted/round");
    }

    [TestMethod]
    [DataRow("self")]
    [DataRow("draft")]
    public void GenerateBatch_TwiceWithFreshDrafters_TheSecondInTheFirstsDisposedCaches_EqualsPlain(string drafterName)
    {
        // The second run's target, budget and draft caches are the first run's, handed back emptied (KvCachePool) with the
        // first run's entries still in their buffers.
        using var target = DecoderModel.Load(TinyExports.Get("spec-target", TargetSpec).Export);
        using var draft = DecoderModel.Load(TinyExports.Get("spec-draft", DraftSpec).Export);
        var generation = new GenerationOptions { MaxNewTokens = 24, PrefillChunk = 5 };
        int[][] first = [TinyExports.Ids(14, 70), TinyExports.Ids(9, 71), TinyExports.Ids(11, 72)];
        int[][] second = [TinyExports.Ids(6, 80), TinyExports.Ids(14, 81), TinyExports.Ids(3, 82)];   // as long a longest prompt
        var plain = new Generator(target).GenerateBatch(second, generation);

        foreach (var prompts in new[] { first, second })
        {
            using var drafter = Drafter(drafterName, target, draft, prompts.Length, generation.Sampling);
            var speculative = new SpeculativeGenerator(target).GenerateBatch(prompts, drafter, new SpeculativeOptions { Generation = generation, Gamma = 3 });
            if (prompts != second) continue;
            for (var b = 0; b < prompts.Length; b++)
                CollectionAssert.AreEqual(plain[b].Tokens.ToArray(), speculative[b].Tokens.ToArray(), $"row {b}");
        }
    }

    [TestMethod]
    public void GenerateBatch_SelfSpeculationWithRoomyBudget_AcceptsEveryDraft()
    {
        // A budget that holds the whole sequence makes the draft the target itself: every draft must pass.
        using var target = DecoderModel.Load(TinyExports.Get("spec-target", TargetSpec).Export);
        var generation = new GenerationOptions { MaxNewTokens = 20 };
        using var drafter = ModelDrafter.ForSelfSpeculation(target, new KvBudget(Sinks: 4, Window: 200, Slack: 8), 4, batchSize: 2,
            generation.Sampling);
        var stats = new SpeculativeStats();
        new SpeculativeGenerator(target).GenerateBatch(Prompts(2), drafter, new SpeculativeOptions { Generation = generation, Gamma = 4 }, stats);
        Assert.AreEqual(stats.Proposed, stats.Accepted);
    }

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void ContinuousBatching_SelfSpeculation_RowsRefilled_EachDocumentEqualsPlain(bool tree)
    {
        // The budget cache is seeded from each document's prefill on the side cache and must forget the row's last document.
        using var target = DecoderModel.Load(TinyExports.Get("spec-target", TargetSpec).Export);
        var prompts = Prompts(5);
        var generation = new GenerationOptions { MaxNewTokens = 12, PrefillChunk = 4 };
        var requests = prompts.Select((p, i) => new Runtime.Batching.BatchRequest(i, p, generation with { MaxNewTokens = 6 + 3 * i })).ToList();
        var stats = new SpeculativeStats();
        var options = new SpeculationOptions { Mode = SpeculationMode.Self, Tree = tree, Gamma = tree ? null : 3, Sinks = 2, Window = 6, TreeSize = 6, TreeDepth = 3 };
        using var step = (SpeculativeDecodeStep)Speculation.CreateStep(target, options, 2, SamplingOptions.Greedy, stats: stats);

        var results = new Runtime.Batching.ContinuousBatcher(target, step).Run(requests, new Runtime.Batching.BatchOptions { BatchSize = 2 },
            stats.Generation, TestContext.CancellationToken).ToList();

        Assert.HasCount(prompts.Length, results);
        foreach (var result in results)
        {
            var alone = new Generator(target).GenerateBatch([prompts[(int)result.Id]], requests[(int)result.Id].Generation!)[0];
            CollectionAssert.AreEqual(alone.Tokens.ToArray(), result.Tokens.ToArray(), $"document {result.Id}");
        }
        Assert.IsGreaterThan(0, stats.Accepted);
    }

    [TestMethod]
    public void SelfSpeculationDrafter_RoundsOfTheRootAlone_CopyNothingAndTheBudgetCatchesUpWhenItNextDrafts()
    {
        // Every other round is plain decoding (γ = 0): it leaves the budget behind, and the next drafting round takes the
        // target's missing entries in one copy. Lossless, and the draft still feeds only what it proposes: a budget that
        // caught up by recomputing the skipped tokens would feed more.
        using var target = DecoderModel.Load(TinyExports.Get("spec-target", TargetSpec).Export);
        var generation = new GenerationOptions { MaxNewTokens = 40 };
        var prompts = Prompts(2);
        var plain = new Generator(target).GenerateBatch(prompts, generation);
        using var drafter = ModelDrafter.ForSelfSpeculation(target, new KvBudget(Sinks: 2, Window: 6, Slack: 8), 4, batchSize: 2,
            generation.Sampling);
        var stats = new SpeculativeStats();
        using var step = new SpeculativeDecodeStep(drafter, new AlternatingPlanner(), stats: stats);

        var speculative = new Generator(target, step).GenerateBatch(prompts, generation);

        for (var b = 0; b < prompts.Length; b++)
            CollectionAssert.AreEqual(plain[b].Tokens.ToArray(), speculative[b].Tokens.ToArray(), $"row {b}");
        Assert.AreEqual((long)stats.Proposed, drafter.TokensFed);
        Assert.IsGreaterThan(0, stats.Accepted, "drafts from the caught-up budget are accepted");
    }

    // γ = 3 and γ = 0 (the root alone) in turn.
    private sealed class AlternatingPlanner : IDraftPlanner
    {
        private int _round;
        public int MaxNodes => 4;
        public TreeShape Next(int activeRows, int context) => TreeShape.Chain(_round++ % 2 == 0 ? 3 : 0);
    }

    [TestMethod]
    public void SelfSpeculationDrafter_TargetKvCopied_DraftNeverRecomputesCommittedTokens()
    {
        // With the target's KV copied in after prefill and after every verification, each round feeds the draft exactly
        // the last committed token plus its drafts but the last (γ-1, fewer where the token limit cuts the chain), as
        // many tokens as it proposes; recomputing the prompt or accepted tokens would feed more.
        using var target = DecoderModel.Load(TinyExports.Get("spec-target", TargetSpec).Export);
        var generation = new GenerationOptions { MaxNewTokens = 40 };
        using var drafter = ModelDrafter.ForSelfSpeculation(target, new KvBudget(Sinks: 2, Window: 6, Slack: 8), 4, batchSize: 1,
            generation.Sampling);
        var stats = new SpeculativeStats();
        new SpeculativeGenerator(target).GenerateBatch(Prompts(1), drafter, new SpeculativeOptions { Generation = generation, Gamma = 4 }, stats);
        Assert.AreEqual((long)stats.Proposed, drafter.TokensFed);
        Assert.IsGreaterThan(stats.Rounds * 3L, (long)stats.Proposed, "most rounds must draft the full γ = 4");
    }

    [TestMethod]
    public void GenerateBatch_SamplingSameSeed_SameTokens()
    {
        using var target = DecoderModel.Load(TinyExports.Get("spec-target", TargetSpec).Export);
        using var draft = DecoderModel.Load(TinyExports.Get("spec-draft", DraftSpec).Export);
        var generation = new GenerationOptions { MaxNewTokens = 16, Sampling = new SamplingOptions { Temperature = 1f, TopP = 0.9f, Seed = 3 } };
        int[] Run()
        {
            using var drafter = ModelDrafter.ForDraftModel(draft, target.Manifest, 1, generation.Sampling);
            return [.. new SpeculativeGenerator(target).GenerateBatch(Prompts(1), drafter, new SpeculativeOptions { Generation = generation, Gamma = 3 })[0].Tokens];
        }
        CollectionAssert.AreEqual(Run(), Run());
    }

    [TestMethod]
    public async Task StreamAsync_Greedy_EqualsPlainStream()
    {
        using var target = DecoderModel.Load(TinyExports.Get("spec-target", TargetSpec).Export);
        var generation = new GenerationOptions { MaxNewTokens = 18 };
        var prompt = Prompts(1)[0];
        var plain = new List<int>();
        await foreach (var t in new Generator(target).StreamAsync(prompt, generation, cancellationToken: TestContext.CancellationToken)) plain.Add(t);
        using var drafter = new PromptLookupDrafter();
        var streamed = new List<int>();
        await foreach (var t in new SpeculativeGenerator(target).StreamAsync(prompt, drafter, new SpeculativeOptions { Generation = generation },
            cancellationToken: TestContext.CancellationToken)) streamed.Add(t);
        CollectionAssert.AreEqual(plain, streamed);
    }

    [TestMethod]
    public void DraftModelDrafter_VocabularyMismatch_SaysSo()
    {
        using var target = DecoderModel.Load(TinyExports.Get("spec-target", TargetSpec).Export);
        using var other = DecoderModel.Load(TinyExports.Get("spec-draft-300", DraftSpec with { VocabSize = 300 }).Export);
        var e = Assert.ThrowsExactly<CondensaException>(() => ModelDrafter.ForDraftModel(other, target.Manifest, 1, SamplingOptions.Greedy));
        StringAssert.Contains(e.Message, "vocabulary mismatch");
    }

    [TestMethod]
    public void Constructor_LayerCondensedTarget_RefusesToVerify()
    {
        var lckv = new ModelManifest { Format = 1, Architecture = "LCKVLlamaForCausalLM", NumLayers = 4, KvLayers = [0, 3], LayerKvSource = [0, 3, 3, 3] };
        var e = Assert.ThrowsExactly<CondensaException>(() => new SpeculativeGenerator(new ManifestOnly(lckv)));
        StringAssert.Contains(e.Message, "not exact");
    }

    private static IDrafter Drafter(string name, DecoderModel target, DecoderModel draft, int batch, SamplingOptions sampling) => name switch
    {
        "draft" => ModelDrafter.ForDraftModel(draft, target.Manifest, batch, sampling),
        // A small budget, so the rows drop old positions and the draft really differs from the target.
        "self" => ModelDrafter.ForSelfSpeculation(target, new KvBudget(Sinks: 2, Window: 6, Slack: 8), 6, batch, sampling),
        "lookup" => new PromptLookupDrafter(),
        _ => throw new ArgumentException(name),
    };

    /// <summary>Ragged prompts with repeats, so lookup finds matches too.</summary>
    private static int[][] Prompts(int batch) =>
        [.. Enumerable.Range(0, batch).Select(b =>
        {
            var head = TinyExports.Ids(3 + 2 * b, seed: 200 + b);
            return (int[])[.. head, .. head, .. TinyExports.Ids(2, seed: 300 + b)];
        })];

    private sealed class ManifestOnly(ModelManifest manifest) : IDecoder
    {
        public ModelManifest Manifest => manifest;
        public KvCache CreateCache(int batchSize, KvCacheOptions? options = null) => throw new NotSupportedException();
        public ReadOnlySpan<float> Forward(KvCache cache, scoped in ForwardInputs inputs) => throw new NotSupportedException();
        public ReadOnlySpan<int> ForwardGreedy(KvCache cache, scoped in ForwardInputs inputs) => throw new NotSupportedException();
    }
}
