using Condensa.Runtime.Batching;
using Condensa.Runtime.Generation;
using Condensa.Runtime.Sampling;

namespace Condensa.Runtime.Tests;

[TestClass]
public sealed class ContinuousBatcherTests
{
    public TestContext TestContext { get; set; } = null!;

    // Nine ragged prompts, several longer than the 4-token prefill chunk, more documents than rows.
    private static readonly int[] PromptLengths = [9, 2, 13, 1, 5, 4, 11, 3, 7];

    [TestMethod]
    [DataRow("llama", 3)]
    [DataRow("mistral", 4)]   // sliding window 6: positions past the window inside refilled rows
    [DataRow("qwen2", 1)]
    [DataRow("lckv", 3)]      // layer-condensed: the iterated prefill runs on the side cache exactly as on its own
    public async Task Run_GreedyRaggedPromptsStaggeredFinish_EqualOneAtATime(string variant, int batchSize)
    {
        var (_, export) = Export(variant);
        using var model = DecoderModel.Load(export);
        var prompts = Prompts(100);
        var options = await StaggeredOptions(model, prompts, new GenerationOptions { MaxNewTokens = 12, PrefillChunk = 4 });
        var expected = await OneAtATime(model, prompts, options);
        Assert.IsGreaterThan(1, expected.Select(e => e.Length).Distinct().Count(), "rows must finish at different times for this test to mean anything");

        var results = new ContinuousBatcher(model).Run(Requests(prompts), new BatchOptions { BatchSize = batchSize, Generation = options },
            cancellationToken: TestContext.CancellationToken).ToList();

        Assert.HasCount(prompts.Length, results);
        CollectionAssert.AreEquivalent(Enumerable.Range(0, prompts.Length).Select(i => (long)i).ToArray(), results.Select(r => r.Id).ToArray());
        foreach (var result in results)
        {
            Assert.IsTrue(result.Succeeded, result.Error);
            CollectionAssert.AreEqual(expected[result.Id], result.Tokens.ToArray(), $"document {result.Id}");
            Assert.AreEqual(prompts[result.Id].Length, result.PromptTokens);
        }
    }

    [TestMethod]
    public async Task Run_SeededSampling_EqualsOneAtATime()
    {
        // Each document gets a fresh sampler with the seed, as a run on its own does.
        var (_, export) = TinyModels.Get("qwen2");
        using var model = DecoderModel.Load(export);
        var prompts = Prompts(200);
        var options = new GenerationOptions { MaxNewTokens = 10, PrefillChunk = 4, Sampling = new SamplingOptions { Temperature = 1.3f, TopK = 40, Seed = 7 } };
        var expected = await OneAtATime(model, prompts, options);

        var results = new ContinuousBatcher(model).Run(Requests(prompts), new BatchOptions { BatchSize = 3, Generation = options },
            cancellationToken: TestContext.CancellationToken).ToList();

        foreach (var result in results)
            CollectionAssert.AreEqual(expected[result.Id], result.Tokens.ToArray(), $"document {result.Id}");
    }

    [TestMethod]
    public void Run_DocumentOverContext_ErrorResultAndTheOthersComplete()
    {
        // llama-long has a 40-token context: 30 + 12 - 1 > 40 is refused before any work, the rest still run.
        var (_, export) = TinyModels.Get("llama-long");
        using var model = DecoderModel.Load(export);
        BatchRequest[] requests = [new(0, TinyModels.Ids(5, 1)), new(1, TinyModels.Ids(30, 2)), new(2, TinyModels.Ids(8, 3)), new(3, [])];
        var stats = new GenerationStats();

        var results = new ContinuousBatcher(model).Run(requests, new BatchOptions { BatchSize = 2, Generation = new GenerationOptions { MaxNewTokens = 12 } },
            stats, TestContext.CancellationToken).ToDictionary(r => r.Id);

        Assert.HasCount(4, results);
        StringAssert.Contains(results[1].Error, "30 tokens");
        StringAssert.Contains(results[1].Error, "context limit of 40");
        StringAssert.Contains(results[3].Error, "empty");
        Assert.HasCount(12, results[0].Tokens);
        Assert.HasCount(12, results[2].Tokens);
        Assert.AreEqual(5 + 8, stats.PromptTokens);
        Assert.AreEqual(24, stats.GeneratedTokens);
    }

    [TestMethod]
    public void Run_StreamsInput_PullsARequestOnlyWhenARowFrees()
    {
        var (_, export) = TinyModels.Get("llama");
        using var model = DecoderModel.Load(export);
        var pulled = 0;
        IEnumerable<BatchRequest> Source()
        {
            for (var i = 0; i < 10; i++) { pulled++; yield return new BatchRequest(i, TinyModels.Ids(3 + i, 300 + i)); }
        }

        using var results = new ContinuousBatcher(model).Run(Source(), new BatchOptions { BatchSize = 2, Generation = new GenerationOptions { MaxNewTokens = 4 } },
            cancellationToken: TestContext.CancellationToken).GetEnumerator();

        Assert.IsTrue(results.MoveNext());
        Assert.AreEqual(2, pulled, "the first result comes before any row was refilled");
        var count = 1;
        while (results.MoveNext()) count++;
        Assert.AreEqual(10, count);
    }

    [TestMethod]
    public void Run_ShortAnswersMoreDocumentsThanRows_EveryPassDecodesEveryRowWhileWorkWaits()
    {
        // 13 documents of 3 tokens on 4 rows: each row needs its prefill (token 1) and two passes, so a fair batcher
        // runs 3 x 2 passes over 4 rows and 2 over the last one. Prefilling one chunk per pass left most rows waiting.
        var (_, export) = TinyModels.Get("llama");
        using var model = DecoderModel.Load(export);
        var step = new ScriptedLengthStep(_ => int.MaxValue);
        var prompts = Enumerable.Range(0, 13).Select(i => TinyModels.Ids(1 + i % 9, 400 + i)).ToArray();

        var results = new ContinuousBatcher(model, step).Run(Requests(prompts),
            new BatchOptions { BatchSize = 4, Generation = new GenerationOptions { MaxNewTokens = 3, PrefillChunk = 4 } },
            cancellationToken: TestContext.CancellationToken).ToList();

        Assert.IsTrue(results.All(r => r.Tokens.Count == 3));
        CollectionAssert.AreEqual(new[] { 4, 4, 4, 4, 4, 4, 1, 1 }, step.DecodingRowsPerPass, string.Join(",", step.DecodingRowsPerPass));
    }

    [TestMethod]
    public void Run_RowsFreeOutOfOrder_DocumentsStartInArrivalOrder()
    {
        // Answers of 2-6 tokens free rows 0, 1 and 2 in a changing order; each document must still start (prefill)
        // after every document that arrived before it, however long those wait. Lowest-row-first let a refilled
        // row 0 overtake documents waiting in rows 1 and 2.
        var (_, export) = TinyModels.Get("llama");
        using var loaded = DecoderModel.Load(export);
        var model = new PrefillOrderDecoder(loaded);
        int[] promptLengths = [9, 2, 5, 3, 6, 2, 7, 4, 3], answerLengths = [2, 6, 3, 5, 2, 4, 2, 3, 2];
        var prompts = promptLengths.Select((n, i) => (int[])[10 + i, .. TinyModels.Ids(n - 1, 500 + i)]).ToArray();
        var step = new ScriptedLengthStep(id => answerLengths[id]);
        var options = new GenerationOptions { MaxNewTokens = 12, PrefillChunk = 4, StopTokenIds = [ScriptedLengthStep.StopToken] };

        var results = new ContinuousBatcher(model, step).Run(Requests(prompts), new BatchOptions { BatchSize = 3, Generation = options },
            cancellationToken: TestContext.CancellationToken).ToList();

        foreach (var result in results)
            Assert.HasCount(answerLengths[result.Id], result.Tokens, $"document {result.Id} must end where the script says");
        CollectionAssert.AreEqual(Enumerable.Range(10, prompts.Length).ToArray(), model.PrefillStarts, string.Join(",", model.PrefillStarts));
    }

    [TestMethod]
    public void Run_BatchSizeZero_NamesTheField()
    {
        var (_, export) = TinyModels.Get("llama");
        using var model = DecoderModel.Load(export);
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new ContinuousBatcher(model).Run([], new BatchOptions { BatchSize = 0 }));
        Assert.AreEqual("BatchSize", e.ParamName);
    }

    private static (string Checkpoint, string Export) Export(string variant) => variant == "lckv"
        ? TestSupport.TinyExports.Get("batcher-lckv", new TestSupport.TinyModelSpec
        {
            Architecture = "lckv", LayerTypes = "0_3_3_3_4", NumLayers = 5, ForwardPasses = 3, BackwardPasses = 1, Seed = 31, MaxPositionEmbeddings = 64,
        })
        : TinyModels.Get(variant);

    private static int[][] Prompts(int seed) => [.. PromptLengths.Select((n, i) => TinyModels.Ids(n, seed + i))];

    private static IEnumerable<BatchRequest> Requests(int[][] prompts) => prompts.Select((p, i) => new BatchRequest(i, p));

    /// <summary>Adds a stop token that ends some documents early, so rows free up at different times.</summary>
    private async Task<GenerationOptions> StaggeredOptions(DecoderModel model, int[][] prompts, GenerationOptions options)
    {
        var free = await OneAtATime(model, prompts, options);
        return options with { StopTokenIds = [free[0][2]] };
    }

    private async Task<int[][]> OneAtATime(DecoderModel model, int[][] prompts, GenerationOptions options)
    {
        var generator = new Generator(model);
        var outputs = new int[prompts.Length][];
        for (var i = 0; i < prompts.Length; i++)
        {
            var tokens = new List<int>();
            await foreach (var t in generator.StreamAsync(prompts[i], options, cancellationToken: TestContext.CancellationToken)) tokens.Add(t);
            outputs[i] = [.. tokens];
        }
        return outputs;
    }
}
