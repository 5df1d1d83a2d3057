using System.Collections.Concurrent;
using Condensa.Runtime.Batching;
using Condensa.Runtime.Generation;
using Condensa.Runtime.Sampling;

namespace Condensa.Runtime.Tests;

/// <summary>The live path of <see cref="ContinuousBatcher"/>: a <see cref="BatchQueue"/> fed from other threads.</summary>
[TestClass]
public sealed class BatchQueueTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public async Task Run_RequestsJoinFromOtherThreadsWithOwnOptions_EqualOneAtATime()
    {
        var (_, export) = TinyModels.Get("llama");
        using var model = DecoderModel.Load(export);
        var prompts = Enumerable.Range(0, 9).Select(i => TinyModels.Ids(2 + i % 5, 700 + i)).ToArray();
        // each request its own length and sampling: a server's requests share nothing but the batch
        var options = prompts.Select((_, i) => new GenerationOptions
        {
            MaxNewTokens = 3 + i % 4, PrefillChunk = 4,
            Sampling = i % 3 == 0 ? new SamplingOptions { Temperature = 1.1f, TopK = 20, Seed = i } : SamplingOptions.Greedy,
        }).ToArray();
        var expected = new int[prompts.Length][];
        for (var i = 0; i < prompts.Length; i++)
            expected[i] = await new Generator(model).StreamAsync(prompts[i], options[i], cancellationToken: TestContext.CancellationToken).ToArrayAsync(TestContext.CancellationToken);

        var queue = new BatchQueue();
        var streamed = new ConcurrentDictionary<long, List<int>>();
        var producer = Task.Run(async () =>
        {
            for (var i = 0; i < prompts.Length; i++)
            {
                var id = i;
                var tokens = streamed.GetOrAdd(id, _ => []);
                queue.TryAdd(new BatchRequest(id, prompts[id], options[id], OnToken: tokens.Add));
                await Task.Delay(i % 3, TestContext.CancellationToken);   // arrivals while rows decode
            }
            queue.Complete();
        }, TestContext.CancellationToken);
        var results = new ContinuousBatcher(model).Run(queue, new BatchOptions { BatchSize = 3 }, cancellationToken: TestContext.CancellationToken).ToList();
        await producer;

        Assert.HasCount(prompts.Length, results);
        foreach (var result in results)
        {
            Assert.IsTrue(result.Succeeded, result.Error);
            CollectionAssert.AreEqual(expected[result.Id], result.Tokens.ToArray(), $"document {result.Id}");
            CollectionAssert.AreEqual(expected[result.Id], streamed[result.Id].ToArray(), $"streamed tokens of document {result.Id}");
        }
    }

    [TestMethod]
    public void Run_CancelledRequest_LeavesAndFreesItsRow()
    {
        // One row: the second request can run only once the first, which would take 50 tokens, gives its row back.
        var (_, export) = TinyModels.Get("llama");
        using var model = DecoderModel.Load(export);
        using var cancel = new CancellationTokenSource();
        var queue = new BatchQueue();
        var seen = 0;
        queue.TryAdd(new BatchRequest(0, TinyModels.Ids(3, 800), new GenerationOptions { MaxNewTokens = 50 }, cancel.Token,
            _ => { if (++seen == 4) cancel.Cancel(); }));
        queue.TryAdd(new BatchRequest(1, TinyModels.Ids(3, 801), new GenerationOptions { MaxNewTokens = 5 }));
        queue.Complete();

        var results = new ContinuousBatcher(model).Run(queue, new BatchOptions { BatchSize = 1 }, cancellationToken: TestContext.CancellationToken).ToList();

        Assert.HasCount(2, results);
        Assert.AreEqual(FinishReason.Cancelled, results[0].FinishReason);
        Assert.HasCount(4, results[0].Tokens);
        Assert.AreEqual(FinishReason.Length, results[1].FinishReason);
        Assert.HasCount(5, results[1].Tokens);
    }

    [TestMethod]
    public void Run_CancelledWhileQueued_AnsweredWithoutARow()
    {
        var (_, export) = TinyModels.Get("llama");
        using var model = DecoderModel.Load(export);
        var queue = new BatchQueue();
        queue.TryAdd(new BatchRequest(0, TinyModels.Ids(3, 810), new GenerationOptions { MaxNewTokens = 4 }, new CancellationToken(canceled: true),
            _ => Assert.Fail("a request cancelled before it ran must not generate")));
        queue.TryAdd(new BatchRequest(1, TinyModels.Ids(3, 811), new GenerationOptions { MaxNewTokens = 4 }));
        queue.Complete();

        var results = new ContinuousBatcher(model).Run(queue, new BatchOptions { BatchSize = 1 }, cancellationToken: TestContext.CancellationToken).ToList();

        Assert.AreEqual(FinishReason.Cancelled, results[0].FinishReason);
        Assert.IsEmpty(results[0].Tokens);
        Assert.AreEqual(1, results[1].Id);
        Assert.HasCount(4, results[1].Tokens);
    }

    [TestMethod]
    public void Run_IdleQueue_WaitsForTheNextRequest()
    {
        var (_, export) = TinyModels.Get("llama");
        using var model = DecoderModel.Load(export);
        var queue = new BatchQueue();
        var late = Task.Run(async () =>
        {
            await Task.Delay(200, TestContext.CancellationToken);
            queue.TryAdd(new BatchRequest(7, TinyModels.Ids(2, 900), new GenerationOptions { MaxNewTokens = 2 }));
            queue.Complete();
        }, TestContext.CancellationToken);

        var results = new ContinuousBatcher(model).Run(queue, new BatchOptions { BatchSize = 2 }, cancellationToken: TestContext.CancellationToken).ToList();

        Assert.HasCount(1, results);
        Assert.AreEqual(7, results[0].Id);
        Assert.IsFalse(queue.TryAdd(new BatchRequest(8, [1])), "a completed queue takes no more requests");
    }
}
