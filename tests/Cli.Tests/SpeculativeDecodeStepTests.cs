using Condensa.Runtime;
using Condensa.Runtime.Batching;
using Condensa.Runtime.Generation;
using Condensa.Speculative;
using Condensa.TestSupport;

namespace Condensa.Cli.Tests;

/// <summary>Prompt-lookup speculation inside continuous batching (it lives in Condensa.Speculative; this project is the
/// test project that sees both it and the runtime).</summary>
[TestClass]
public sealed class SpeculativeDecodeStepTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [DataRow(null)]
    [DataRow(3)]
    public async Task ContinuousLookup_Greedy_EqualsOneAtATimePlain_WithRejectedDrafts(int? gamma)
    {
        var (_, export) = TinyExports.Get("speculative-step", new TinyModelSpec { Architecture = "llama", Seed = 21 });
        using var model = DecoderModel.Load(export);
        // Repetitive prompts, so lookup drafts often; the random model mostly disagrees, so drafts are rejected and rewound.
        int[][] prompts = [.. Enumerable.Range(0, 7).Select(i => Repeat(TinyExports.Ids(2 + i % 3, 40 + i), 3 + i))];
        var options = new GenerationOptions { MaxNewTokens = 20, PrefillChunk = 5 };
        var expected = new List<int[]>();
        foreach (var prompt in prompts)
        {
            var tokens = new List<int>();
            await foreach (var t in new Generator(model).StreamAsync(prompt, options, cancellationToken: TestContext.CancellationToken)) tokens.Add(t);
            expected.Add([.. tokens]);
        }
        var drafter = new PromptLookupDrafter();
        var step = new SpeculativeDecodeStep(drafter, new ChainPlanner(gamma, drafter: drafter));

        var results = new ContinuousBatcher(model, step).Run(prompts.Select((p, i) => new BatchRequest(i, p)),
            new BatchOptions { BatchSize = 3, Generation = options }, cancellationToken: TestContext.CancellationToken).ToList();

        Assert.HasCount(prompts.Length, results);
        foreach (var result in results) CollectionAssert.AreEqual(expected[(int)result.Id], result.Tokens.ToArray(), $"document {result.Id}");
        // Adaptive γ drafts as the measured step times say, which the machine decides: only a fixed γ is sure to draft.
        if (gamma is null) return;
        Assert.IsGreaterThan(step.Stats.Accepted, step.Stats.Proposed, "some drafts must be rejected for the rewind to be tested");
        Assert.IsGreaterThan(0, step.Stats.Accepted, "some drafts must be accepted for multi-token steps to be tested");
    }

    private static int[] Repeat(int[] pattern, int times) => [.. Enumerable.Repeat(pattern, times).SelectMany(p => p)];
}
