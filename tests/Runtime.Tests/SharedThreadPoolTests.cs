using Condensa.Runtime.ExecutionProviders;
using Microsoft.ML.OnnxRuntime;

namespace Condensa.Runtime.Tests;

[TestClass]
public sealed class SharedThreadPoolTests
{
    [TestMethod]
    public void Serves_OneThreadCountAtMost_AndASessionOfAnotherCountRunsOnItsOwnPool()
    {
        var (_, export) = TinyModels.Get("llama");
        using var model = DecoderModel.Load(export);
        Assert.IsTrue(OrtEnv.IsCreated, "the first session creates the environment");
        var sizes = Enumerable.Range(1, 8).Where(SharedThreadPool.Serves).ToArray();
        Assert.IsLessThanOrEqualTo(1, sizes.Length, "one pool, of one size");

        var other = sizes.Length == 1 ? sizes[0] + 1 : 3;
        using var own = DecoderModel.Load(export, new SessionSettings { IntraOpThreads = other });
        using var a = model.CreateCache(1);
        using var b = own.CreateCache(1);
        var ids = TinyModels.Ids(9, seed: 4);
        var expected = model.Forward(a, ids, [ids.Length], LogitsSelection.LastPerRow).ToArray();
        var actual = own.Forward(b, ids, [ids.Length], LogitsSelection.LastPerRow).ToArray();
        for (var i = 0; i < expected.Length; i++) Assert.AreEqual(expected[i], actual[i], 1e-5f, $"logit {i}");
    }
}
