using Condensa.Export;
using Condensa.Runtime.ExecutionProviders;

namespace Condensa.Runtime.Tests;

/// <summary>Where a model whose passes start on its general graph loads its slots graph beside it: a float32 export on cuda
/// under auto fused attention (no causal graph runs there), nowhere else.</summary>
[TestClass]
public sealed class SlotsBesideGeneralTests
{
    [TestMethod]
    [DataRow("fp32", "cuda", null, true, DisplayName = "float32 on cuda, auto: the slots graph beside the general one")]
    [DataRow("fp32", "cuda", false, false, DisplayName = "forced off: the general graph alone")]
    [DataRow("fp32", "cuda", true, false, DisplayName = "forced on: the causal graph runs first, with its own rule")]
    [DataRow("fp16", "cuda", null, false, DisplayName = "float16 on cuda: the causal graph runs first")]
    [DataRow("fp32", "cpu", null, false, DisplayName = "the CPU: the causal graph runs first")]
    [DataRow("fp16", "cpu", null, false, DisplayName = "float16 on the CPU (SwiGLU): the general graph alone")]
    [DataRow("fp32", "webgpu", null, false, DisplayName = "webgpu: the general graph alone until measured there")]
    public void SlotsBesideGeneral_TakeFloat32OnCudaUnderAutoAlone(string precision, string provider, bool? fused, bool expected)
    {
        var (_, export) = TinyModels.Get("llama", precision == "fp16" ? ExportPrecision.Fp16 : ExportPrecision.Fp32);
        var manifest = ModelManifest.Load(export);
        Assert.IsNotNull(manifest.SlotsGraph, "the export has a slots graph");
        var settings = new SessionSettings { FusedAttention = fused };
        var on = ExecutionProvider.Parse(provider);
        // DecoderSessions' rule: the general graph runs first, and the attention graphs load on this provider
        Assert.AreEqual(expected, !settings.UsesFusedAttention(on, manifest) && settings.UsesAttentionGraphs(on));
    }
}
