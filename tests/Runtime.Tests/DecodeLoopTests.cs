using Condensa.Runtime.Batching;
using Condensa.Runtime.Generation;
using Condensa.TestSupport;

namespace Condensa.Runtime.Tests;

/// <summary>The decode loop's own rules, against a fake model whose every answer is known (token t is followed by t + 1).</summary>
[TestClass]
public sealed class DecodeLoopTests
{
    private static FakeDecoder Counting(int maxContext = 256) => new((t, _) => (t + 1) % 32, vocab: 32, maxContext);

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void GenerateBatch_StopTokenOrLength_EndsEachRow()
    {
        var model = Counting();
        var options = new GenerationOptions { MaxNewTokens = 6, StopTokenIds = [8] };

        var results = new Generator(model).GenerateBatch([[5], [20], [9, 10]], options, cancellationToken: TestContext.CancellationToken);

        CollectionAssert.AreEqual(new[] { 6, 7, 8 }, results[0].Tokens.ToArray(), "the stop token is reported and ends the row");
        Assert.AreEqual(FinishReason.Stop, results[0].FinishReason);
        CollectionAssert.AreEqual(new[] { 21, 22, 23, 24, 25, 26 }, results[1].Tokens.ToArray());
        Assert.AreEqual(FinishReason.Length, results[1].FinishReason);
        CollectionAssert.AreEqual(new[] { 11, 12, 13, 14, 15, 16 }, results[2].Tokens.ToArray());
    }

    [TestMethod]
    public void GenerateBatch_PromptFillingWholeGrowthChunks_DecodesWithoutReallocatingTheCache()
    {
        // 512 prompt tokens fill two growth chunks exactly: a cache sized to the prompt would grow at the first new token,
        // copying every entry (and recapturing a device's graphs) mid-decode
        var model = Counting(maxContext: 1024);
        var prompts = new[] { Enumerable.Range(0, 512).Select(i => i % 32).ToArray(), [3, 4] };
        var stats = new GenerationStats();

        var results = new Generator(model).GenerateBatch(prompts, new GenerationOptions { MaxNewTokens = 40 }, stats, TestContext.CancellationToken);

        Assert.AreEqual(40, results[0].Tokens.Count);
        Assert.AreEqual(0, stats.KvReallocations, "the batch's cache holds prompt and new tokens from the start");
        var grown = new GenerationStats();
        using (var cache = model.CreateCache(2))   // sized by default: one chunk, grown as the prompt and decode need
        using (var loop = new DecodeLoop(model, new PlainDecodeStep(), cache,
            DecodeLoop.Of([new BatchRequest(0, prompts[0], new GenerationOptions { MaxNewTokens = 40 })]), new GenerationOptions(), grown))
            foreach (var _ in loop.Results(TestContext.CancellationToken)) { }
        Assert.IsGreaterThan(0, grown.KvReallocations, "the counter sees a cache that grows");
    }

    [TestMethod]
    [DataRow(false, 2, DisplayName = "the prompt reserved at once, decoding grows the cache past it")]
    [DataRow(true, 1, DisplayName = "ReserveMaxTokens: every token reserved at once")]
    public void ContinuousBatcher_PromptOverSeveralGrowthChunks_CacheGrowsForItAtOnce(bool reserveMaxTokens, int regrowths)
    {
        // 700 prompt tokens in chunks of 100 and 300 new tokens cross 256-slot growth chunks at 300, 600 and 768: a cache left
        // to grow as the prompt comes in would regrow three times, each copying every row's entries
        var model = new FakeDecoder((t, _) => (t + 1) % 32, vocab: 32, maxContext: 2048);
        BatchRequest[] requests = [new(0, [.. Enumerable.Range(0, 700).Select(t => t % 32)])];
        var generation = new GenerationOptions { MaxNewTokens = 300, PrefillChunk = 100 };
        var stats = new GenerationStats();

        var result = new ContinuousBatcher(model).Run(requests, new BatchOptions { BatchSize = 2, Generation = generation, ReserveMaxTokens = reserveMaxTokens },
            stats, TestContext.CancellationToken).Single();

        CollectionAssert.AreEqual(model.Continue(requests[0].Prompt, 300, []), result.Tokens.ToArray());
        Assert.AreEqual(regrowths, stats.KvReallocations);
    }

    [TestMethod]
    public void ContinuousBatcher_FirstDocumentsOfGrowingLength_OneGrowthForAllOfThem()
    {
        // the four documents take the four rows in one turn: grown for each longer one in turn, the cache would be copied at
        // 301, 601 and 901 slots; grown once for them all, it is copied once
        var model = new FakeDecoder((t, _) => (t + 1) % 32, vocab: 32, maxContext: 2048);
        int[] promptLengths = [300, 600, 200, 900];
        var requests = promptLengths.Select((n, i) => new BatchRequest(i, [.. Enumerable.Range(i, n).Select(t => t % 32)],
            new GenerationOptions { MaxNewTokens = 8 })).ToList();
        var stats = new GenerationStats();

        var results = new ContinuousBatcher(model).Run(requests, new BatchOptions { BatchSize = 4 }, stats, TestContext.CancellationToken).ToList();

        foreach (var result in results)
            CollectionAssert.AreEqual(model.Continue(requests[(int)result.Id].Prompt, 8, []), result.Tokens.ToArray(), $"document {result.Id}");
        Assert.AreEqual(1, stats.KvReallocations);
    }

    [TestMethod]
    public void ContinuousBatcher_ReserveMaxTokens_CacheGrowsOnlyWhenALongerDocumentArrives()
    {
        // 300 prompt + 300 new tokens and the capture padding cross two 256-slot growth chunks while the first documents decode:
        // with every token reserved at admission the cache grows for the first documents and for the longer last one alone
        var model = new FakeDecoder((t, _) => (t + 1) % 32, vocab: 32, maxContext: 2048) { LongestCapturedPass = 32 };
        int[] promptLengths = [300, 300, 300, 700];
        var requests = promptLengths.Select((n, i) => new BatchRequest(i, [.. Enumerable.Range(i, n).Select(t => t % 32)],
            new GenerationOptions { MaxNewTokens = 300 })).ToList();
        var stats = new GenerationStats();

        var results = new ContinuousBatcher(model).Run(requests, new BatchOptions { BatchSize = 2, ReserveMaxTokens = true }, stats,
            TestContext.CancellationToken).ToList();

        Assert.HasCount(4, results);
        foreach (var result in results)
            CollectionAssert.AreEqual(model.Continue(requests[(int)result.Id].Prompt, 300, []), result.Tokens.ToArray(), $"document {result.Id}");
        Assert.AreEqual(2, stats.KvReallocations, "one growth for the first documents' 632 slots, one for the last one's 1,032");
    }

    [TestMethod]
    public void ContinuousBatcher_MoreDocumentsThanRows_EachAnsweredAsAlone()
    {
        var model = Counting();
        var requests = Enumerable.Range(0, 7).Select(i => new BatchRequest(i, [.. Enumerable.Range(i, 1 + i % 3)],
            new GenerationOptions { MaxNewTokens = 2 + i, StopTokenIds = [30] })).ToList();
        var stats = new GenerationStats();

        var results = new ContinuousBatcher(model).Run(requests, new BatchOptions { BatchSize = 3 }, stats, TestContext.CancellationToken).ToList();

        Assert.HasCount(7, results);
        foreach (var result in results)
        {
            var request = requests[(int)result.Id];
            CollectionAssert.AreEqual(model.Continue(request.Prompt, request.Generation!.MaxNewTokens, [30]), result.Tokens.ToArray(), $"document {result.Id}");
        }
        Assert.AreEqual(results.Sum(r => r.Tokens.Count), stats.GeneratedTokens);
        Assert.AreEqual(requests.Sum(r => r.Prompt.Count), stats.PromptTokens);
        Assert.IsLessThanOrEqualTo(3, model.LargestPass, "a pass never holds more than one token per row (prompts run on the side cache)");
    }

    [TestMethod]
    [DataRow(40, 48, 2, 0, DisplayName = "documents with many tokens to go move")]
    [DataRow(9, 12, 0, 3, DisplayName = "documents near their limit stay")]
    public void ContinuousBatcher_StaticBatchWhoseFirstDocumentsFinish_FeedsTheLastOnesInTheLeadingRowsAtTheirPositions(int third, int fourth,
        int moves, int lastRow)
    {
        var model = Counting();
        int[] lengths = [2, 3, third, fourth];
        var requests = lengths.Select((n, i) => new BatchRequest(i, [4 * i, 4 * i + 1], new GenerationOptions { MaxNewTokens = n })).ToList();
        var stats = new GenerationStats();

        var results = new ContinuousBatcher(model).Run(requests, new BatchOptions { BatchSize = 4 }, stats, TestContext.CancellationToken).ToList();

        foreach (var result in results)
        {
            var request = requests[(int)result.Id];
            CollectionAssert.AreEqual(model.Continue(request.Prompt, request.Generation!.MaxNewTokens), result.Tokens.ToArray(), $"document {result.Id}");
        }
        Assert.AreEqual(moves, stats.RowMoves, "documents 3 and 2 move into rows 0 and 1 once those finish, unless within 32 tokens of their end");
        var rows = model.Fed.Skip(model.Fed.Count - 3).Select(f => f.Row).Distinct().ToArray();
        CollectionAssert.AreEqual(new[] { lastRow }, rows, "the row the last document decodes in");
        Assert.AreEqual(fourth, model.Fed[^1].Position, "at its own position (2 prompt + its new tokens, the last not fed)");
    }

    [TestMethod]
    public void ContinuousBatcher_RequestOverTheContext_AnsweredWithAnErrorAndTheJobGoesOn()
    {
        var model = Counting(maxContext: 16);
        BatchRequest[] requests = [new(0, [1, 2, 3]), new(1, [.. Enumerable.Range(0, 12)]), new(2, [4])];

        var results = new ContinuousBatcher(model).Run(requests, new BatchOptions { BatchSize = 2, Generation = new GenerationOptions { MaxNewTokens = 8 } },
            cancellationToken: TestContext.CancellationToken).ToDictionary(r => r.Id);

        StringAssert.Contains(results[1].Error, "Context overflow: prompt of 12 tokens + 8 new tokens exceeds the context limit of 16");
        CollectionAssert.AreEqual(model.Continue([1, 2, 3], 8), results[0].Tokens.ToArray());
        CollectionAssert.AreEqual(model.Continue([4], 8), results[2].Tokens.ToArray());
    }

    [TestMethod]
    public void ContinuousBatcher_RequestCancelledMidStream_EndsCancelledAndFreesItsRow()
    {
        var model = Counting();
        using var leave = new CancellationTokenSource();
        var seen = 0;
        BatchRequest[] requests =
        [
            new(0, [1], new GenerationOptions { MaxNewTokens = 20 }, leave.Token, OnToken: _ => { if (++seen == 3) leave.Cancel(); }),
            new(1, [10], new GenerationOptions { MaxNewTokens = 4 }),
        ];

        var results = new ContinuousBatcher(model).Run(requests, new BatchOptions { BatchSize = 1 }, cancellationToken: TestContext.CancellationToken)
            .ToDictionary(r => r.Id);

        Assert.AreEqual(FinishReason.Cancelled, results[0].FinishReason);
        CollectionAssert.AreEqual(new[] { 2, 3, 4 }, results[0].Tokens.ToArray(), "the tokens committed before it left");
        CollectionAssert.AreEqual(new[] { 11, 12, 13, 14 }, results[1].Tokens.ToArray(), "the freed row served the next request");
    }

    [TestMethod]
    [DataRow(false, 0)]
    [DataRow(true, 4)]
    public void ContinuousBatcher_LongPromptArrives_InterleavedRowsKeepDecodingBetweenItsChunks(bool interleave, int tokensDuringPrefill)
    {
        // row 0 decodes; at its second token a 5-chunk prompt arrives: interleaved, row 0 takes a pass after each of the
        // first four chunks (the fifth gives the new row its first token before the pass)
        var model = Counting();
        var log = new List<string>();
        var queue = new BatchQueue();
        var long20 = new BatchRequest(1, [.. Enumerable.Range(0, 20)], new GenerationOptions { MaxNewTokens = 2, PrefillChunk = 4 },
            OnToken: _ => log.Add("b"));
        var first = new BatchRequest(0, [1], new GenerationOptions { MaxNewTokens = 12 }, OnToken: _ =>
        {
            log.Add("a");
            if (log.Count != 2) return;
            log.Add("arrives");
            queue.TryAdd(long20);
            queue.Complete();
        });
        queue.TryAdd(first);

        var answered = new ContinuousBatcher(model).Run(queue, new BatchOptions { BatchSize = 2, InterleavePrefill = interleave },
            cancellationToken: TestContext.CancellationToken).ToDictionary(r => r.Id);

        var order = log.ToArray();
        var arrival = Array.IndexOf(order, "arrives");
        var firstB = Array.IndexOf(order, "b");
        Assert.AreEqual(tokensDuringPrefill, order[(arrival + 1)..firstB].Count(e => e == "a"), string.Join(" ", order));
        CollectionAssert.AreEqual(model.Continue(first.Prompt, 12), answered[0].Tokens.ToArray());
        CollectionAssert.AreEqual(model.Continue(long20.Prompt, 2), answered[1].Tokens.ToArray());
    }

    [TestMethod]
    public void ContinuousBatcher_InterleavedPromptCancelledPartWay_LeavesAndTheNextRequestTakesItsRow()
    {
        var model = Counting();
        using var leave = new CancellationTokenSource();
        var queue = new BatchQueue();
        var aTokens = 0;
        var cancelled = new BatchRequest(1, [.. Enumerable.Range(0, 20)], new GenerationOptions { MaxNewTokens = 2, PrefillChunk = 4 }, leave.Token);
        var next = new BatchRequest(2, [7], new GenerationOptions { MaxNewTokens = 3 });
        var first = new BatchRequest(0, [1], new GenerationOptions { MaxNewTokens = 12 }, OnToken: _ =>
        {
            if (++aTokens == 2) { queue.TryAdd(cancelled); queue.TryAdd(next); queue.Complete(); }
            if (aTokens == 4) leave.Cancel();   // the long prompt is part way in
        });
        queue.TryAdd(first);

        var answered = new ContinuousBatcher(model).Run(queue, new BatchOptions { BatchSize = 2, InterleavePrefill = true },
            cancellationToken: TestContext.CancellationToken).ToDictionary(r => r.Id);

        Assert.AreEqual(FinishReason.Cancelled, answered[1].FinishReason);
        Assert.IsEmpty(answered[1].Tokens);
        CollectionAssert.AreEqual(model.Continue(next.Prompt, 3), answered[2].Tokens.ToArray(), "the freed row served the next request");
        CollectionAssert.AreEqual(model.Continue(first.Prompt, 12), answered[0].Tokens.ToArray());
    }

    [TestMethod]
    public async Task StreamAsync_KeptCache_ContinuesTheConversationAndHoldsAllButTheLastToken()
    {
        var model = Counting();
        using var cache = model.CreateCache(1);
        var options = new GenerationOptions { MaxNewTokens = 4 };

        var first = await Collect(new Generator(model).StreamAsync([3], options, cache: cache, cancellationToken: TestContext.CancellationToken));
        Assert.AreEqual(1 + 3, cache.Lengths[0], "the prompt and every reply token but the last");
        var second = await Collect(new Generator(model).StreamAsync([first[^1], 20], options, cache: cache, cancellationToken: TestContext.CancellationToken));

        CollectionAssert.AreEqual(new[] { 4, 5, 6, 7 }, first);
        CollectionAssert.AreEqual(new[] { 21, 22, 23, 24 }, second);
        Assert.AreEqual(4 + 2 + 3, cache.Lengths[0]);
    }

    [TestMethod]
    public void GenerateBatch_KvBytes_IsThePeakTheRowsHeld()
    {
        var model = Counting();
        var stats = new GenerationStats();

        new Generator(model).GenerateBatch([[1, 2, 3], [4, 5, 6, 7, 8]], new GenerationOptions { MaxNewTokens = 4 }, stats, TestContext.CancellationToken);

        // both rows finish at the last pass, holding their prompts and 3 fed tokens each; then they are emptied
        Assert.AreEqual((3 + 3 + 5 + 3) * model.Manifest.KvBytesPerToken, stats.KvBytes);
    }

    private static async Task<int[]> Collect(IAsyncEnumerable<int> tokens)
    {
        var list = new List<int>();
        await foreach (var t in tokens) list.Add(t);
        return [.. list];
    }
}
