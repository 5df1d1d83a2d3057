using Condensa.Runtime.Generation;

namespace Condensa.Runtime.Tests;

[TestClass]
public sealed class KvCachePoolTests
{
    [TestMethod]
    public void CreateCache_AfterOneOfTheSameShapeIsDisposed_GetsItBackEmpty()
    {
        var (_, export) = TinyModels.Get("llama");
        using var model = DecoderModel.Load(export);
        var options = new KvCacheOptions { InitialCapacity = 64 };
        var first = model.CreateCache(2, options);
        model.Forward(first, new ForwardInputs(TinyModels.Ids(10, 1), [5, 3], LogitsSelection.LastPerRow));   // [2, 5], the second row padded
        first.Dispose();

        using var second = model.CreateCache(2, options with { });   // equal options, another instance

        Assert.AreSame(first, second);
        CollectionAssert.AreEqual(new[] { 0, 0 }, second.Lengths.ToArray());
        Assert.IsFalse(second.Released);
    }

    [TestMethod]
    [DataRow(110, true, "as large, rounded to the growth chunk")]
    [DataRow(60, true, "twice the 64 slots asked for at most")]
    [DataRow(120, false, "too small")]
    [DataRow(40, false, "more than twice the 48 slots asked for: the general graph would attend over the empty rest")]
    public void CreateCache_AskingAnotherInitialCapacity_GetsTheIdleCacheWhereItsBuffersFit(int initialCapacity, bool reused, string why)
    {
        var (_, export) = TinyModels.Get("llama");
        using var model = DecoderModel.Load(export);
        var options = new KvCacheOptions { InitialCapacity = 100, GrowthChunk = 16 };   // 112 slots
        var idle = model.CreateCache(2, options);
        idle.Dispose();

        using var next = model.CreateCache(2, options with { InitialCapacity = initialCapacity });

        Assert.AreEqual(reused, ReferenceEquals(idle, next), why);
    }

    [TestMethod]
    public void CreateCache_OfAnotherShape_FreesTheIdleCaches_AndAllocatesItsOwn()
    {
        var (_, export) = TinyModels.Get("llama");
        using var model = DecoderModel.Load(export);
        var idle = model.CreateCache(2);
        idle.Dispose();

        using var other = model.CreateCache(3);
        using var budgeted = model.CreateCache(2, new KvCacheOptions { Budget = new KvBudget(4, 16) });

        Assert.AreNotSame(idle, other);
        Assert.AreNotSame(idle, budgeted);
        Assert.IsTrue(idle.Released, "a cache nobody can take back is freed before new buffers are allocated");
    }

    [TestMethod]
    public void Dispose_Twice_HandsTheCacheOutOnce()
    {
        var (_, export) = TinyModels.Get("llama");
        using var model = DecoderModel.Load(export);
        var cache = model.CreateCache(1);
        cache.Dispose();
        cache.Dispose();

        using var a = model.CreateCache(1);
        using var b = model.CreateCache(1);

        Assert.AreSame(cache, a);
        Assert.AreNotSame(a, b);
    }

    [TestMethod]
    public void IdleCaches_AreBounded_AndFreedWithTheModel()
    {
        var (_, export) = TinyModels.Get("llama");
        var model = DecoderModel.Load(export);
        var caches = Enumerable.Range(0, KvCachePool.MaxIdle + 1).Select(i => model.CreateCache(1, new KvCacheOptions { InitialCapacity = 16 * (i + 1) })).ToList();
        foreach (var cache in caches) cache.Dispose();

        Assert.IsTrue(caches[0].Released, "the oldest idle cache goes when one more than the bound waits");
        Assert.IsFalse(caches[^1].Released);
        model.ReleaseIdleCaches();
        Assert.IsTrue(caches.All(c => c.Released));

        var late = model.CreateCache(1);
        model.Dispose();
        late.Dispose();   // after its model: freed, not kept
        Assert.IsTrue(late.Released);
    }

    [TestMethod]
    public void GenerateBatch_InAReusedCache_GivesTheFreshCachesTokens()
    {
        var (_, export) = TinyModels.Get("llama");
        int[][] prompts = [TinyModels.Ids(9, 21), TinyModels.Ids(4, 22)];
        var options = new GenerationOptions { MaxNewTokens = 10 };
        using var fresh = DecoderModel.Load(export);
        var expected = new Generator(fresh).GenerateBatch(prompts, options);

        using var model = DecoderModel.Load(export);
        var generator = new Generator(model);
        generator.GenerateBatch([TinyModels.Ids(7, 40), TinyModels.Ids(9, 41)], options);   // as long a longest prompt: the same cache, other entries left in it
        var reused = generator.GenerateBatch(prompts, options);

        for (var b = 0; b < prompts.Length; b++) CollectionAssert.AreEqual(expected[b].Tokens.ToArray(), reused[b].Tokens.ToArray(), $"row {b}");
    }
}
