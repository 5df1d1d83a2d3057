namespace Condensa.Runtime.Tests;

[TestClass]
public sealed class KvCacheReserveTests
{
    [TestMethod]
    public void Reserve_GrowsOnceToTheSlotsAsked_KeepingTheEntries_CappedAtTheLimit()
    {
        var (_, export) = TinyModels.Get("llama");
        using var model = DecoderModel.Load(export);
        using var cache = model.CreateCache(1, new KvCacheOptions { GrowthChunk = 16, MaxContext = 100 });
        model.Forward(cache, new ForwardInputs(TinyModels.Ids(5, 3), [5], LogitsSelection.LastPerRow));
        var key = cache.KeyBytes(0)[..64].ToArray();   // the first entries of row 0, KV head 0 (slots lead the layout)

        cache.Reserve(40);
        Assert.AreEqual(48, cache.Capacity);
        var generation = cache.Generation;
        cache.Reserve(30);
        Assert.AreEqual(generation, cache.Generation, "room enough: no regrowth");
        cache.Reserve(1000);
        Assert.AreEqual(100, cache.Capacity);
        CollectionAssert.AreEqual(key, cache.KeyBytes(0)[..64].ToArray());
        Assert.AreEqual(5, cache.Lengths[0]);
    }
}
