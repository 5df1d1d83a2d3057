using Condensa.Runtime.Generation;
using Condensa.Runtime.Sampling;

namespace Condensa.Runtime.Tests;

/// <summary>One <see cref="DecoderModel"/> shared by many generators at once gives what each gives alone.</summary>
[TestClass]
public sealed class ConcurrentGenerationTests
{
    private const int Callers = 8;

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [DataRow(0f, DisplayName = "greedy")]
    [DataRow(1.5f, DisplayName = "sampled, seeded")]
    public async Task StreamAsync_ConcurrentCallersOnOneModel_EqualSequentialRuns(float temperature)
    {
        var (_, export) = TinyModels.Get("llama");
        using var model = DecoderModel.Load(export, new SessionSettings { IntraOpThreads = 1 });
        var prompts = Enumerable.Range(0, Callers).Select(i => TinyModels.Ids(3 + 2 * i, 100 + i)).ToArray();
        GenerationOptions Options(int i) => new()
        {
            MaxNewTokens = 24,
            PrefillChunk = 5,   // several prefill passes per caller, so passes of different callers interleave
            Sampling = new SamplingOptions { Temperature = temperature, Seed = 7 + i },
        };

        // 1) each caller alone
        var sequential = new List<int[]>();
        for (var i = 0; i < Callers; i++)
            sequential.Add(await Collect(new Generator(model).StreamAsync(prompts[i], Options(i), cancellationToken: TestContext.CancellationToken)));

        // 2) all callers at once, released together so their passes overlap
        using var start = new ManualResetEventSlim();
        var tasks = Enumerable.Range(0, Callers).Select(i => Task.Run(async () =>
        {
            start.Wait(TestContext.CancellationToken);
            return await Collect(new Generator(model).StreamAsync(prompts[i], Options(i), cancellationToken: TestContext.CancellationToken));
        })).ToArray();
        start.Set();
        var concurrent = await Task.WhenAll(tasks);

        for (var i = 0; i < Callers; i++)
            CollectionAssert.AreEqual(sequential[i], concurrent[i], $"caller {i}");
        Assert.IsTrue(sequential.Select(s => string.Join(",", s)).Distinct().Count() > 1, "callers must generate different sequences for the test to mean anything");
    }

    [TestMethod]
    public async Task GenerateBatch_ConcurrentBatchesOnOneModel_EqualSequentialRuns()
    {
        var (_, export) = TinyModels.Get("qwen2");
        using var model = DecoderModel.Load(export, new SessionSettings { IntraOpThreads = 1 });
        var options = new GenerationOptions { MaxNewTokens = 16, PrefillChunk = 4 };
        var batches = Enumerable.Range(0, Callers)
            .Select(i => (IReadOnlyList<IReadOnlyList<int>>)[TinyModels.Ids(2 + i, 200 + i), TinyModels.Ids(9 - i, 300 + i)]).ToArray();

        var sequential = batches.Select(b => new Generator(model).GenerateBatch(b, options, cancellationToken: TestContext.CancellationToken)).ToArray();
        using var start = new ManualResetEventSlim();
        var tasks = batches.Select(b => Task.Run(() =>
        {
            start.Wait(TestContext.CancellationToken);
            return new Generator(model).GenerateBatch(b, options, cancellationToken: TestContext.CancellationToken);
        })).ToArray();
        start.Set();
        var concurrent = await Task.WhenAll(tasks);

        for (var i = 0; i < Callers; i++)
            for (var row = 0; row < 2; row++)
                CollectionAssert.AreEqual(sequential[i][row].Tokens.ToArray(), concurrent[i][row].Tokens.ToArray(), $"batch {i} row {row}");
    }

    private async Task<int[]> Collect(IAsyncEnumerable<int> tokens)
    {
        var list = new List<int>();
        await foreach (var t in tokens.WithCancellation(TestContext.CancellationToken)) list.Add(t);
        return [.. list];
    }
}
