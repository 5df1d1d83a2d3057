using Condensa.Runtime.Capture;
using Condensa.Runtime.ExecutionProviders;

namespace Condensa.Runtime.Tests;

/// <summary>The CUDA-independent parts of graph capture: which passes are captured, graph ids, and when capture is on.</summary>
[TestClass]
public sealed class GraphCaptureTests
{
    [TestMethod]
    [DataRow(1, true)]                               // decode
    [DataRow(9, true)]                               // a chain of 8 drafts plus the last token
    [DataRow(GraphCapture.MaxCapturedTokens, true)]
    [DataRow(GraphCapture.MaxCapturedTokens + 1, false)]   // a prefill chunk
    [DataRow(512, false)]
    public void Captures_ByNewTokensPerRow_DecodeAndVerificationOnly(int seqLen, bool captured) =>
        Assert.AreEqual(captured, GraphCapture.Captures(seqLen));

    [TestMethod]
    public void NextId_FreshIdsUntilTheBoundThenUncaptured()
    {
        var capture = new GraphCapture(ExecutionProvider.Cpu.CreateMemoryInfo(), deviceId: 0);
        Assert.AreEqual(0, capture.Issued);
        var ids = Enumerable.Range(0, GraphCapture.MaxGraphs).Select(_ => capture.NextId()).ToArray();
        CollectionAssert.AreEqual(Enumerable.Range(0, GraphCapture.MaxGraphs).ToArray(), ids);
        Assert.AreEqual(-1, capture.NextId(), "past the bound a pass runs uncaptured");
        Assert.AreEqual(GraphCapture.MaxGraphs, capture.Issued, "graphs captured: the ids issued, not the refusals");
    }

    [TestMethod]
    [DataRow("cuda", null, KvResidence.Auto, true)]
    [DataRow("cuda", null, KvResidence.Host, false)]
    [DataRow("cuda", false, KvResidence.Auto, false)]
    [DataRow("cpu", true, KvResidence.Auto, false)]
    [DataRow("webgpu", null, KvResidence.Auto, false)]
    public void CapturesGraphs_OnForCudaWithDeviceKvUnlessTurnedOff(string provider, bool? capture, KvResidence residence, bool expected)
    {
        var settings = new SessionSettings { ProviderOptions = new ProviderOptions { GraphCapture = capture }, KvResidence = residence };
        Assert.AreEqual(expected, settings.CapturesGraphs(ExecutionProvider.Parse(provider)));
    }

    [TestMethod]
    public void CapturesGraphs_ForcedOnWithHostKv_ClearError()
    {
        var settings = new SessionSettings { ProviderOptions = new ProviderOptions { GraphCapture = true }, KvResidence = KvResidence.Host };
        var e = Assert.ThrowsExactly<CondensaException>(() => settings.CapturesGraphs(ExecutionProvider.Cuda));
        StringAssert.Contains(e.Message, "--kv-residence");
    }
}
