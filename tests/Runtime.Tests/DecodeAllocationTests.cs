namespace Condensa.Runtime.Tests;

/// <summary>
/// The decode path allocates nothing in proportion to the context: the managed bytes one decode step allocates are the
/// same at a short and at a long context, and small (the OrtValue handles ONNX Runtime's managed Run marshals).
/// </summary>
[TestClass]
public sealed class DecodeAllocationTests
{
    [TestMethod]
    [DataRow(KvResidence.Host, false)]
    [DataRow(KvResidence.Device, false)]
    [DataRow(KvResidence.Host, true)]
    public void Decode_ManagedBytesPerStep_SmallAndIndependentOfContext(KvResidence residence, bool greedy)
    {
        using var model = DecoderModel.Load(TinyModels.Get("llama").Export, new SessionSettings { KvResidence = residence });
        var shortContext = BytesPerStep(model, context: 16, greedy);
        var longContext = BytesPerStep(model, context: 100, greedy);

        Assert.IsLessThan(MaxBytesPerStep, shortContext, $"{shortContext} B per step at 16 tokens");
        Assert.IsLessThan(MaxBytesPerStep, longContext, $"{longContext} B per step at 100 tokens");
        Assert.IsLessThanOrEqualTo(shortContext + 64, longContext, "per-step allocation grows with the context");
    }

    // Far below the KV of this model at either context (chunks of 8 slots, so the capacity follows the context), far above the
    // few handles a step marshals; a per-step copy or array of the cache would exceed it at once.
    private const long MaxBytesPerStep = 2048;

    private static long BytesPerStep(DecoderModel model, int context, bool greedy)
    {
        const int steps = 16;
        using var cache = model.CreateCache(2, new KvCacheOptions { GrowthChunk = 8, InitialCapacity = context + 2 * steps + 4 });
        var prompt = TinyModels.Ids(2 * context, seed: context);
        model.Forward(cache, prompt, [context, context], LogitsSelection.LastPerRow);
        int[] tokens = [5, 6], counts = [1, 1];
        for (var i = 0; i < steps; i++) Step(model, cache, tokens, counts, greedy);   // warm-up

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < steps; i++) Step(model, cache, tokens, counts, greedy);
        return (GC.GetAllocatedBytesForCurrentThread() - before) / steps;
    }

    private static void Step(DecoderModel model, KvCache cache, int[] tokens, int[] counts, bool greedy)
    {
        if (greedy) model.ForwardGreedy(cache, new ForwardInputs(tokens, counts, LogitsSelection.LastPerRow));
        else model.Forward(cache, tokens, counts, LogitsSelection.LastPerRow);
    }
}
