using Condensa.Export;

namespace Condensa.Speculative.Tests;

/// <summary>
/// Self-speculation drafted by the target's checkpoint at another precision (a float16 export drafting for the float32
/// one): the budget takes the target's float32 entries converted, verification stays the target's, so greedy output is
/// plain decoding's; a drafter that is another model, or whose KV cannot take the target's entries, is refused by name.
/// </summary>
[TestClass]
public sealed class SelfDrafterTests
{
    private static readonly TinyModelSpec TargetSpec = SpeculationModels.TargetSpec;

    [TestMethod]
    [DataRow(1, false, ExportPrecision.Fp16)]
    [DataRow(3, false, ExportPrecision.Fp16)]
    [DataRow(3, true, ExportPrecision.Fp16)]
    [DataRow(3, true, ExportPrecision.Int8)]   // 8-bit weights, float32 KV: the budget takes the entries as they are
    public void SelfSpeculation_DraftedByAnotherExportOfTheCheckpoint_EqualsPlainAndAcceptsTheTargetsOwnDrafts(int batch, bool deviceKv, ExportPrecision drafts)
    {
        var settings = new SessionSettings { KvResidence = deviceKv ? KvResidence.Device : KvResidence.Host };
        using var target = DecoderModel.Load(TinyExports.Get("spec-target", TargetSpec).Export, settings);
        using var drafter = DecoderModel.Load(TinyExports.Get("spec-target", TargetSpec, drafts, swiGlu: false).Export, settings);
        var generation = new GenerationOptions { MaxNewTokens = 24, PrefillChunk = 5 };
        int[][] prompts = [.. Enumerable.Range(0, batch).Select(b => TinyExports.Ids(9 + 4 * b, seed: 40 + b))];
        var plain = new Generator(target).GenerateBatch(prompts, generation);
        var shapesBefore = drafter.PassShapes;

        // a budget that holds every position: the draft is the target itself but for float16's rounding, so it should
        // propose what the target picks; a budget seeded with anything but the target's entries would not
        var options = new SpeculationOptions { Mode = SpeculationMode.Self, Gamma = 4, Sinks = 4, Window = 64 };
        var stats = new SpeculativeStats();
        using var step = (SpeculativeDecodeStep)Speculation.CreateStep(target, options, batch, generation.Sampling, drafter, stats);
        var speculative = new Generator(target, step).GenerateBatch(prompts, generation);

        for (var b = 0; b < batch; b++)
            CollectionAssert.AreEqual(plain[b].Tokens.ToArray(), speculative[b].Tokens.ToArray(), $"row {b}");
        Assert.IsGreaterThan(shapesBefore, drafter.PassShapes, "the other export ran the drafts");
        Assert.IsGreaterThan(0, stats.Proposed);
        Assert.IsGreaterThanOrEqualTo(0.9, (double)stats.Accepted / stats.Proposed, $"{stats.Accepted} of {stats.Proposed} drafts accepted");
    }

    [TestMethod]
    public void SelfSpeculation_DrafterOfAnotherModel_IsRefusedNamingTheField()
    {
        using var target = DecoderModel.Load(TinyExports.Get("spec-target", TargetSpec).Export);
        using var other = DecoderModel.Load(TinyExports.Get("spec-draft", SpeculationModels.DraftSpec).Export);
        var options = new SpeculationOptions { Mode = SpeculationMode.Self, Gamma = 3 };
        var error = Assert.ThrowsExactly<CondensaException>(() => Speculation.CreateStep(target, options, 1, SamplingOptions.Greedy, other));
        StringAssert.Contains(error.Message, "hidden_size 32, the target's 64");
    }

    [TestMethod]
    public void SelfSpeculation_FloatDrafterOfAHalfPrecisionTarget_IsRefused()
    {
        // the budget takes the target's entries, and float16 ones do not widen back into what the float32 model computes
        using var target = DecoderModel.Load(TinyExports.Get("spec-target", TargetSpec, ExportPrecision.Fp16, swiGlu: false).Export);
        using var wide = DecoderModel.Load(TinyExports.Get("spec-target", TargetSpec).Export);
        var options = new SpeculationOptions { Mode = SpeculationMode.Self, Gamma = 3 };
        var error = Assert.ThrowsExactly<CondensaException>(() => Speculation.CreateStep(target, options, 1, SamplingOptions.Greedy, wide));
        StringAssert.Contains(error.Message, "its KV is Float32 and the target's Float16");
    }
}
