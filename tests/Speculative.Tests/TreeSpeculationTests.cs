namespace Condensa.Speculative.Tests;

[TestClass]
public sealed class TreeSpeculationTests
{
    private static readonly TinyModelSpec TargetSpec = SpeculationModels.TargetSpec;
    private static readonly TinyModelSpec DraftSpec = SpeculationModels.DraftSpec;

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [DataRow("draft", 1, 12, 4)]
    [DataRow("draft", 4, 12, 4)]
    [DataRow("self", 1, 10, 3)]
    [DataRow("self", 4, 10, 3)]
    [DataRow("draft", 4, null, null)]   // planned per round from the default calibration
    [DataRow("self", 4, null, null)]
    public void GenerateBatch_Greedy_EqualsPlainGreedyTokenForToken(string drafterName, int batch, int? size, int? depth)
    {
        using var target = DecoderModel.Load(TinyExports.Get("spec-target", TargetSpec).Export);
        using var draft = DecoderModel.Load(TinyExports.Get("spec-draft", DraftSpec).Export);
        var prompts = Prompts(batch);
        var generation = new GenerationOptions { MaxNewTokens = 24, PrefillChunk = 5 };
        var plain = new Generator(target).GenerateBatch(prompts, generation);

        var planner = new TreePlanner(TreeCalibration.Default(), size, depth, maxNodes: 16, maxDepth: 6);
        using var drafter = Drafter(drafterName, target, draft, batch, generation.Sampling, planner.MaxNodes);
        var stats = new SpeculativeStats();
        var speculative = new SpeculativeGenerator(target).GenerateBatch(prompts, drafter,
            new SpeculativeOptions { Generation = generation, Planner = planner }, stats);

        for (var b = 0; b < batch; b++)
            CollectionAssert.AreEqual(plain[b].Tokens.ToArray(), speculative[b].Tokens.ToArray(), $"row {b}");
        Assert.IsGreaterThan(0, stats.Rounds);
        Assert.IsGreaterThan(0, stats.Proposed);
        TestContext.WriteLine($"{drafterName} batch {batch}: {stats.Rounds} rounds, {stats.MeanAcceptedPerRound:F2} accepted/round");
    }

    [TestMethod]
    public void GenerateBatch_SelfSpeculationWithRoomyBudget_AcceptsTheTopChildAtEveryLevel()
    {
        // A budget that holds the whole sequence makes the draft the target itself: the top-ranked chain always passes,
        // so every round accepts the full depth (until the token limit cuts the tree).
        using var target = DecoderModel.Load(TinyExports.Get("spec-target", TargetSpec).Export);
        var generation = new GenerationOptions { MaxNewTokens = 21 };
        var planner = new TreePlanner(TreeCalibration.Default(), nodes: 8, depth: 4, maxNodes: 8);
        using var drafter = ModelDrafter.ForSelfSpeculation(target, new KvBudget(Sinks: 4, Window: 200, Slack: 8), planner.MaxNodes, 2,
            generation.Sampling);
        var stats = new SpeculativeStats();
        new SpeculativeGenerator(target).GenerateBatch(Prompts(2), drafter, new SpeculativeOptions { Generation = generation, Planner = planner },
            stats);
        Assert.AreEqual(4.0, stats.MeanAcceptedPerRound);   // 20 tokens after the first: 4 rounds of 4 + bonus per row
    }

    [TestMethod]
    public void GenerateBatch_SelfSpeculationChainShapedTree_DraftsOneTokenAPass_DepthPassesARound()
    {
        // what TreePlanner.Seconds prices a chain-shaped tree at (d one-token draft steps: TreeCalibration.ChainDraft): the
        // drafter runs ProposeChain, one token a row a pass, and a round of depth 4 takes four passes
        using var target = DecoderModel.Load(TinyExports.Get("spec-target", TargetSpec).Export);
        var counting = new CountingDecoder(target);
        var generation = new GenerationOptions { MaxNewTokens = 21 };
        var planner = new TreePlanner(TreeCalibration.Default(), nodes: 5, depth: 4, maxNodes: 5);
        using var drafter = ModelDrafter.ForSelfSpeculation(target, new KvBudget(Sinks: 4, Window: 200, Slack: 8), planner.MaxNodes, 2,
            generation.Sampling, counting);
        var stats = new SpeculativeStats();
        new SpeculativeGenerator(target).GenerateBatch(Prompts(2), drafter, new SpeculativeOptions { Generation = generation, Planner = planner },
            stats);
        Assert.AreEqual(4.0, stats.MeanAcceptedPerRound, "every draft accepted: full rounds");
        Assert.IsTrue(counting.PassTokens.All(t => t == 1), string.Join(", ", counting.PassTokens));
        Assert.HasCount(4 * stats.Rounds, counting.PassTokens);
    }

    private sealed class CountingDecoder(IDecoder inner) : IDecoder
    {
        public List<int> PassTokens { get; } = [];
        public ModelManifest Manifest => inner.Manifest;
        public KvCache CreateCache(int batchSize, KvCacheOptions? options = null) => inner.CreateCache(batchSize, options);
        public ReadOnlySpan<float> Forward(KvCache cache, scoped in ForwardInputs inputs)
        {
            PassTokens.Add(inputs.Tokens.Length / cache.BatchSize);
            return inner.Forward(cache, inputs);
        }
        public ReadOnlySpan<int> ForwardGreedy(KvCache cache, scoped in ForwardInputs inputs)
        {
            PassTokens.Add(inputs.Tokens.Length / cache.BatchSize);
            return inner.ForwardGreedy(cache, inputs);
        }
    }

    [TestMethod]
    public void GenerateBatch_SamplingSameSeed_SameTokens()
    {
        using var target = DecoderModel.Load(TinyExports.Get("spec-target", TargetSpec).Export);
        using var draft = DecoderModel.Load(TinyExports.Get("spec-draft", DraftSpec).Export);
        var generation = new GenerationOptions { MaxNewTokens = 16, Sampling = new SamplingOptions { Temperature = 1f, TopP = 0.9f, Seed = 3 } };
        var planner = new TreePlanner(TreeCalibration.Default(), nodes: 10, depth: 3, maxNodes: 10);
        int[] Run()
        {
            using var drafter = ModelDrafter.ForDraftModel(draft, target.Manifest, 1, generation.Sampling);
            return [.. new SpeculativeGenerator(target).GenerateBatch(Prompts(1), drafter,
                new SpeculativeOptions { Generation = generation, Planner = planner })[0].Tokens];
        }
        var first = Run();
        Assert.HasCount(16, first);
        CollectionAssert.AreEqual(first, Run());
    }

    [TestMethod]
    public void ForSelfSpeculation_SlackSmallerThanTheTree_SaysSo()
    {
        using var target = DecoderModel.Load(TinyExports.Get("spec-target", TargetSpec).Export);
        var e = Assert.ThrowsExactly<ArgumentException>(() =>
            ModelDrafter.ForSelfSpeculation(target, new KvBudget(2, 6, Slack: 4), maxNodes: 16, 1, SamplingOptions.Greedy));
        StringAssert.Contains(e.Message, "slack");
    }

    private static IDrafter Drafter(string name, DecoderModel target, DecoderModel draft, int batch, SamplingOptions sampling, int maxNodes) => name switch
    {
        "draft" => ModelDrafter.ForDraftModel(draft, target.Manifest, batch, sampling),
        // A small budget, so the rows drop old positions and the draft really differs from the target.
        "self" => ModelDrafter.ForSelfSpeculation(target, new KvBudget(Sinks: 2, Window: 6, Slack: maxNodes), maxNodes, batch, sampling),
        _ => throw new ArgumentException(name),
    };

    /// <summary>Ragged prompts with repeats.</summary>
    private static int[][] Prompts(int batch) =>
        [.. Enumerable.Range(0, batch).Select(b =>
        {
            var head = TinyExports.Ids(3 + 2 * b, seed: 200 + b);
            return (int[])[.. head, .. head, .. TinyExports.Ids(2, seed: 300 + b)];
        })];
}
