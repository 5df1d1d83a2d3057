using Condensa.Runtime.Generation;
using Condensa.Runtime.Sampling;

namespace Condensa.Runtime.Tests;

[TestClass]
public sealed class GeneratorTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public async Task GenerateBatch_ThreeRaggedPrompts_EqualThreeSingleRuns()
    {
        var (_, export) = TinyModels.Get("llama");
        using var model = DecoderModel.Load(export);
        var generator = new Generator(model);
        var options = new GenerationOptions { MaxNewTokens = 12, PrefillChunk = 4 };
        int[][] prompts = [TinyModels.Ids(9, 21), TinyModels.Ids(2, 22), TinyModels.Ids(5, 23)];

        var batch = generator.GenerateBatch(prompts, options);
        for (var b = 0; b < prompts.Length; b++)
        {
            var single = await Collect(generator.StreamAsync(prompts[b], options, cancellationToken: TestContext.CancellationToken));
            CollectionAssert.AreEqual(single, batch[b].Tokens.ToArray(), $"row {b}");
            Assert.AreEqual(FinishReason.Length, batch[b].FinishReason);
        }
    }

    [TestMethod]
    [DataRow(0)]
    [DataRow(-1)]
    public async Task StreamAsync_MaxNewTokensBelowOne_ThrowsNamingIt_GeneratesNothing(int maxNewTokens)
    {
        var (_, export) = TinyModels.Get("llama");
        using var model = DecoderModel.Load(export);
        var generator = new Generator(model);
        var tokens = new List<int>();

        var e = await Assert.ThrowsExactlyAsync<ArgumentOutOfRangeException>(async () =>
        {
            await foreach (var t in generator.StreamAsync(TinyModels.Ids(4, 7), new GenerationOptions { MaxNewTokens = maxNewTokens },
                cancellationToken: TestContext.CancellationToken))
                tokens.Add(t);
        });
        Assert.AreEqual("MaxNewTokens", e.ParamName);
        Assert.IsEmpty(tokens);
        Assert.AreEqual("MaxNewTokens",
            Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => generator.GenerateBatch([TinyModels.Ids(4, 7)], new GenerationOptions { MaxNewTokens = maxNewTokens })).ParamName);
    }

    [TestMethod]
    public async Task StreamAsync_SameSeed_SameTokens_OtherSeed_Differs()
    {
        var (_, export) = TinyModels.Get("qwen2");
        using var model = DecoderModel.Load(export);
        var generator = new Generator(model);
        var prompt = TinyModels.Ids(4, 31);
        GenerationOptions Options(int seed) => new() { MaxNewTokens = 24, Sampling = new SamplingOptions { Temperature = 1.5f, Seed = seed } };

        var a = await Collect(generator.StreamAsync(prompt, Options(1), cancellationToken: TestContext.CancellationToken));
        var b = await Collect(generator.StreamAsync(prompt, Options(1), cancellationToken: TestContext.CancellationToken));
        var c = await Collect(generator.StreamAsync(prompt, Options(2), cancellationToken: TestContext.CancellationToken));
        CollectionAssert.AreEqual(a, b);
        CollectionAssert.AreNotEqual(a, c);
    }

    [TestMethod]
    public async Task StreamAsync_StopToken_EndsAfterIt()
    {
        var (_, export) = TinyModels.Get("llama");
        using var model = DecoderModel.Load(export);
        var generator = new Generator(model);
        var prompt = TinyModels.Ids(5, 41);
        var free = await Collect(generator.StreamAsync(prompt, new GenerationOptions { MaxNewTokens = 10 }, cancellationToken: TestContext.CancellationToken));
        var stop = free[3];
        var stopped = await Collect(generator.StreamAsync(prompt, new GenerationOptions { MaxNewTokens = 10, StopTokenIds = [stop] },
            cancellationToken: TestContext.CancellationToken));
        var firstStop = Array.IndexOf(free, stop);
        CollectionAssert.AreEqual(free[..(firstStop + 1)], stopped);
    }

    [TestMethod]
    public async Task StreamAsync_ReusedCache_ContinuesConversationLikeOnePrompt()
    {
        // Turn 2 appended to the cache of turn 1 equals generating from the whole transcript at once.
        var (_, export) = TinyModels.Get("mistral");
        using var model = DecoderModel.Load(export);
        var generator = new Generator(model);
        var options = new GenerationOptions { MaxNewTokens = 5 };
        var turn1 = TinyModels.Ids(4, 51);
        var turn2 = TinyModels.Ids(3, 52);

        using var cache = model.CreateCache(1);
        var reply1 = await Collect(generator.StreamAsync(turn1, options, cache: cache, cancellationToken: TestContext.CancellationToken));
        int[] next = [reply1[^1], .. turn2];   // the last generated token is not in the cache yet
        var reply2 = await Collect(generator.StreamAsync(next, options, cache: cache, cancellationToken: TestContext.CancellationToken));

        int[] transcript = [.. turn1, .. reply1, .. turn2];
        var oneShot = await Collect(generator.StreamAsync(transcript, options, cancellationToken: TestContext.CancellationToken));
        CollectionAssert.AreEqual(oneShot, reply2);
    }

    [TestMethod]
    public async Task StreamAsync_Cancelled_StopsWithOperationCanceled()
    {
        var (_, export) = TinyModels.Get("llama");
        using var model = DecoderModel.Load(export);
        var generator = new Generator(model);
        using var cts = new CancellationTokenSource();
        var received = 0;
        await Assert.ThrowsAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in generator.StreamAsync(TinyModels.Ids(3, 61), new GenerationOptions { MaxNewTokens = 50 }, cancellationToken: cts.Token))
                if (++received == 3) await cts.CancelAsync();
        });
        Assert.AreEqual(3, received);
    }

    [TestMethod]
    public async Task StreamAsync_PromptPlusMaxTokensOverContext_ThrowsBeforeWork()
    {
        var (_, export) = TinyModels.Get("llama-long");
        using var model = DecoderModel.Load(export);
        var stats = new GenerationStats();
        var e = await Assert.ThrowsExactlyAsync<CondensaException>(async () =>
            await Collect(new Generator(model).StreamAsync(TinyModels.Ids(30, 71), new GenerationOptions { MaxNewTokens = 20 }, stats,
                cancellationToken: TestContext.CancellationToken)));
        StringAssert.Contains(e.Message, "30 tokens");
        Assert.AreEqual(0, stats.PromptTokens);
    }

    [TestMethod]
    public async Task StreamAsync_Stats_CountTokensAndKvBytes()
    {
        var (_, export) = TinyModels.Get("qwen2");
        using var model = DecoderModel.Load(export);
        var stats = new GenerationStats();
        var tokens = await Collect(new Generator(model).StreamAsync(TinyModels.Ids(6, 81), new GenerationOptions { MaxNewTokens = 8 }, stats,
            cancellationToken: TestContext.CancellationToken));
        Assert.HasCount(8, tokens);
        Assert.AreEqual(6, stats.PromptTokens);
        Assert.AreEqual(8, stats.GeneratedTokens);
        Assert.AreEqual(model.Manifest.KvBytesPerToken * (6 + 7), stats.KvBytes);
        Assert.IsGreaterThan(0, stats.DecodeTokensPerSecond);
    }

    private static async Task<int[]> Collect(IAsyncEnumerable<int> tokens)
    {
        var list = new List<int>();
        await foreach (var t in tokens) list.Add(t);
        return [.. list];
    }
}
