namespace Condensa.Runtime.Tests;

/// <summary><see cref="DecoderModel.PassShapes"/>: what bench counts as a run's first-use costs.</summary>
[TestClass]
public sealed class PassShapesTests
{
    [TestMethod]
    public void PassShapes_CountEachGraphRowsTokensAndLogitsOnce()
    {
        var (_, export) = TinyModels.Get("llama");
        using var model = DecoderModel.Load(export, new SessionSettings());
        using var cache = model.CreateCache(1, new KvCacheOptions { GrowthChunk = 4 });
        var before = model.PassShapes;

        model.Forward(cache, new ForwardInputs(TinyModels.Ids(4, 1), [4], LogitsSelection.LastPerRow));   // prefill: 4 tokens
        model.Forward(cache, new ForwardInputs([7], [1], LogitsSelection.LastPerRow));                     // a decode step
        model.Forward(cache, new ForwardInputs([8], [1], LogitsSelection.LastPerRow));                     // the same shape again
        Assert.AreEqual(before + 2, model.PassShapes);

        model.Forward(cache, new ForwardInputs([9, 10], [2], LogitsSelection.All));                        // 2 tokens, both logits
        Assert.AreEqual(before + 3, model.PassShapes);
    }
}
