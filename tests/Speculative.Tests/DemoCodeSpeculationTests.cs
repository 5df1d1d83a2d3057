using System.Text.Json;

namespace Condensa.Speculative.Tests;

/// <summary>Greedy speculation equals plain greedy decoding on the shipped demo-code model, for every drafter, and on
/// demo-code-mha for the drafters that need no second model.</summary>
[TestClass]
public sealed class DemoCodeSpeculationTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [DataRow("draft", 1)]
    [DataRow("draft", 4)]
    [DataRow("self", 1)]
    [DataRow("self", 4)]
    [DataRow("lookup", 1)]
    [DataRow("lookup", 4)]
    // fused attention forced on: verification chains at batch 4 (and the draft's catch-up) take the multi-row causal graph
    [DataRow("draft", 4, true)]
    [DataRow("self", 4, true)]
    [DataRow("lookup", 4, true)]
    // prompts past one multi-row pass (32 tokens): at batch > 1 the draft model takes each prompt alone on a side cache
    [DataRow("draft", 3, false, 5)]
    [DataRow("draft", 3, true, 5)]
    // demo-code-mha (a KV head per query head): its own multi-row graph shape, at batch 1 and 4
    [DataRow("self", 1, false, 2, "demo-code-mha")]
    [DataRow("self", 4, true, 2, "demo-code-mha")]
    [DataRow("lookup", 4, true, 2, "demo-code-mha")]
    public void GenerateBatch_DemoCodeGreedy_EqualsPlain(string drafterName, int batch, bool fused = false, int copies = 2,
        string targetName = "demo-code")
    {
        var settings = fused ? new SessionSettings { FusedAttention = true } : null;
        using var target = DecoderModel.Load(DemoExports.Get(targetName), settings);
        var prompts = Prompts(batch, copies);
        var generation = new GenerationOptions { MaxNewTokens = 32 };
        var plain = new Generator(target).GenerateBatch(prompts, generation);

        using var draftModel = drafterName == "draft" ? DecoderModel.Load(DemoExports.Get("demo-code-draft"), settings) : null;
        using IDrafter drafter = drafterName switch
        {
            "draft" => ModelDrafter.ForDraftModel(draftModel!, target.Manifest, batch, generation.Sampling),
            // 4 sinks + 16 recent tokens: shorter than the prompts, so the budget drops old positions.
            "self" => ModelDrafter.ForSelfSpeculation(target, new KvBudget(Sinks: 4, Window: 16, Slack: 8), 8, batch, generation.Sampling),
            _ => new PromptLookupDrafter(),
        };
        var stats = new SpeculativeStats();
        var speculative = new SpeculativeGenerator(target).GenerateBatch(prompts, drafter,
            new SpeculativeOptions { Generation = generation, MaxGamma = 8 }, stats);
        for (var b = 0; b < batch; b++)
            CollectionAssert.AreEqual(plain[b].Tokens.ToArray(), speculative[b].Tokens.ToArray(), $"row {b}");
        TestContext.WriteLine($"{targetName} {drafterName} x{batch}: acceptance {stats.AcceptanceRate:P1}, {stats.MeanAcceptedPerRound:F2} accepted per round");
    }

    /// <summary>Code prompts of different lengths, cut from the demo golden input (real tokens of Python source) repeated
    /// <paramref name="copies"/> times (16 tokens each, the first with its start token).</summary>
    private static int[][] Prompts(int batch, int copies)
    {
        using var golden = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepositoryPaths.TestData, "golden", "demo-code.json")));
        int[] ids = [.. golden.RootElement.GetProperty("input_ids").EnumerateArray().Select(e => e.GetInt32())];
        int[] repeated = [.. ids, .. Enumerable.Repeat(ids[1..], copies - 1).SelectMany(x => x)];
        return [.. Enumerable.Range(0, batch).Select(b => repeated[..(repeated.Length - 3 * b)])];
    }
}
