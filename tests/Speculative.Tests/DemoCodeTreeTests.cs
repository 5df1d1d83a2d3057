using Condensa.Export;

namespace Condensa.Speculative.Tests;

/// <summary>Tree speculation on the trained demo-code model and its draft (models/), exported once per test run.</summary>
[TestClass]
public sealed class DemoCodeTreeTests
{
    private static readonly Lock Gate = new();
    private static readonly Dictionary<string, string> Exports = [];

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [DataRow("draft", 1, 16, 5)]
    [DataRow("draft", 4, 16, 5)]
    [DataRow("self", 4, 12, 4)]
    [DataRow("draft", 4, null, null)]
    public void GenerateBatch_Greedy_EqualsPlainGreedyOnDemoCode(string drafterName, int batch, int? size, int? depth)
    {
        using var target = DecoderModel.Load(Export("demo-code"));
        using var draft = DecoderModel.Load(Export("demo-code-draft"));
        var prompts = Prompts(batch);
        var generation = new GenerationOptions { MaxNewTokens = 24 };
        var plain = new Generator(target).GenerateBatch(prompts, generation);

        var planner = new TreePlanner(TreeCalibration.Default(), size, depth, maxNodes: 32, maxDepth: 8);
        using IDrafter drafter = drafterName == "draft"
            ? ModelDrafter.ForDraftModel(draft, target.Manifest, batch, generation.Sampling)
            : ModelDrafter.ForSelfSpeculation(target, new KvBudget(Sinks: 4, Window: 16, Slack: planner.MaxNodes), planner.MaxNodes, batch, generation.Sampling);
        var stats = new SpeculativeStats();
        var tree = new SpeculativeGenerator(target).GenerateBatch(prompts, drafter, new SpeculativeOptions { Generation = generation, Planner = planner },
            stats);

        for (var b = 0; b < batch; b++)
            CollectionAssert.AreEqual(plain[b].Tokens.ToArray(), tree[b].Tokens.ToArray(), $"row {b}");
        // a pinned tree drafts every round; the planner's keeps plain rounds where its trees measured slower (the CPU)
        if (size is null) Assert.IsGreaterThan(0, stats.Accepted, "the planner's trees, tried, accept something");
        else Assert.IsGreaterThan(0.5, stats.MeanAcceptedPerRound, "a trained draft of the same data accepts something");
        TestContext.WriteLine($"{drafterName} batch {batch}: {stats.Rounds} rounds, {stats.MeanAcceptedPerRound:F2} accepted/round");
    }

    /// <summary>BOS and a few fixed ids per row (ragged): the demo tokenizer is not referenced here, and greedy equality must
    /// hold for any prompt.</summary>
    private static int[][] Prompts(int batch) =>
        [.. Enumerable.Range(0, batch).Select(b => (int[])[1, .. Enumerable.Range(0, 6 + 3 * b).Select(i => 300 + (37 * (i + b)) % 3000)])];

    /// <summary>The export of models/NAME (fp32), made once per test process; the test is inconclusive without the checkpoint.</summary>
    private static string Export(string name)
    {
        lock (Gate)
        {
            if (Exports.TryGetValue(name, out var made)) return made;
            var checkpoint = Path.Combine(RepositoryRoot(), "models", name);
            if (!File.Exists(Path.Combine(checkpoint, "config.json"))) Assert.Inconclusive($"{checkpoint} is not present (trained by tools/train).");
            var export = Path.Combine(Path.GetTempPath(), "condensa-tests", $"{name}-{Environment.ProcessId}");
            CheckpointExporter.Export(checkpoint, export, new ExportOptions { Precision = ExportPrecision.Fp32 });
            return Exports[name] = export;
        }
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "models.json"))) return dir.FullName;
        throw new InvalidOperationException("models.json not found above the test binaries");
    }
}
