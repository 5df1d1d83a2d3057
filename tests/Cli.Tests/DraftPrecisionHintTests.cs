using Condensa.Export;

namespace Condensa.Cli.Tests;

/// <summary>The note that points a float32 model's self-speculation on cuda at --draft-precision fp16, and only it.</summary>
[TestClass]
public sealed class DraftPrecisionHintTests
{
    [TestMethod]
    [DataRow("self", null, null, ExportPrecision.Fp32, "cuda", true, DisplayName = "self, fp32, cuda: the note")]
    [DataRow("tree", null, null, ExportPrecision.Fp32, "cuda", true, DisplayName = "a self-drafted tree likewise")]
    [DataRow("tree", "demo-code-draft", null, ExportPrecision.Fp32, "cuda", false, DisplayName = "a tree drafted by a draft model")]
    [DataRow("self", null, ExportPrecision.Fp16, ExportPrecision.Fp32, "cuda", false, DisplayName = "drafting at fp16 already")]
    [DataRow("self", null, null, ExportPrecision.Fp16, "cuda", false, DisplayName = "an fp16 model drafts on its causal graph")]
    [DataRow("self", null, null, ExportPrecision.Fp32, "cpu", false, DisplayName = "the CPU runs fp32 drafts on its causal graph")]
    [DataRow("lookup", null, null, ExportPrecision.Fp32, "cuda", false, DisplayName = "prompt lookup drafts without a model")]
    public void DraftPrecisionHint_OnlyWhereAFloat16ExportWouldDraftForLess(string mode, string? draft, ExportPrecision? draftPrecision,
        ExportPrecision precision, string provider, bool expected)
    {
        var setup = new SpeculativeSetup(mode, draft, Gamma: null, Sinks: 16, Window: 256, DraftPrecision: draftPrecision);
        var hint = setup.DraftPrecisionHint(precision, [provider, "cpu"]);
        Assert.AreEqual(expected, hint is not null, hint);
        if (expected) StringAssert.Contains(hint, "--draft-precision fp16");
    }
}
