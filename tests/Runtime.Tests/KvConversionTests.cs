using Condensa.Export;
using Condensa.Runtime.Kv;

namespace Condensa.Runtime.Tests;

/// <summary>
/// Entries copied from a float32 cache into a half-precision one (a float16 export's self-speculation budget drafting for
/// the float32 export of its checkpoint): in host memory by the runtime, in device memory by kv_write_from_float, both
/// the target's values rounded to the budget's type; nothing converts the other way.
/// </summary>
[TestClass]
public sealed class KvConversionTests
{
    [TestMethod]
    [DataRow(false, DisplayName = "host memory")]
    [DataRow(true, DisplayName = "device memory (the CPU provider's): kv_write_from_float")]
    public void FloatTargetsLastPass_IntoAHalfPrecisionBudget_HoldsItsEntriesRounded(bool deviceKv)
    {
        var settings = new SessionSettings { KvResidence = deviceKv ? KvResidence.Device : KvResidence.Host };
        using var wide = DecoderModel.Load(TinyModels.Get("llama").Export, settings);
        using var half = DecoderModel.Load(TinyModels.Get("llama", ExportPrecision.Fp16, swiGlu: false).Export, settings);
        using var target = wide.CreateCache(2);
        using var budget = half.CreateCache(2, new KvCacheOptions { Budget = new KvBudget(Sinks: 2, Window: 16, Slack: 4) });
        var prompt = TinyModels.Ids(22, seed: 91);
        wide.Forward(target, prompt, [11, 11], LogitsSelection.LastPerRow);

        target.CopyLastPassInto(budget, [11, 7]);   // row 1's last 7: positions 4..10 in slots 0..6

        CollectionAssert.AreEqual(new[] { 11, 7 }, budget.Lengths.ToArray());
        var (heads, dim, entries) = (wide.Manifest.NumKvHeads, wide.Manifest.HeadDim, 11);
        for (var layer = 0; layer < wide.Manifest.KvLayers.Length; layer++)
        foreach (var (wideBytes, halfBytes) in new[] { (target.KeyBytes(layer).ToArray(), budget.KeyBytes(layer).ToArray()), (target.ValueBytes(layer).ToArray(), budget.ValueBytes(layer).ToArray()) })
        {
            var from = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(wideBytes.AsSpan());
            var to = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, Half>(halfBytes.AsSpan());
            var (wideSlots, halfSlots) = (from.Length / (2 * heads * dim), to.Length / (2 * heads * dim));
            for (var row = 0; row < 2; row++)
            for (var h = 0; h < heads; h++)
            for (var slot = 0; slot < budget.Lengths[row]; slot++)
            for (var d = 0; d < dim; d++)
            {
                var position = row == 0 ? slot : slot + entries - 7;
                var expected = (Half)from[((row * heads + h) * wideSlots + position) * dim + d];
                Assert.AreEqual(expected, to[((row * heads + h) * halfSlots + slot) * dim + d], $"layer {layer}, row {row}, head {h}, slot {slot}, dim {d}");
            }
        }
        // the budget drafts from those entries: the float16 model's logits over them are the float32 model's, to float16's precision
        var next = TinyModels.Ids(2, seed: 92);
        var drafted = half.Forward(budget, next, [1, 0], LogitsSelection.LastPerRow).ToArray();
        var verified = wide.Forward(target, next, [1, 0], LogitsSelection.LastPerRow).ToArray();
        Assert.IsLessThan(0.02, TinyModels.RelativeError(drafted.AsSpan(0, wide.Manifest.VocabSize), [.. verified.Take(wide.Manifest.VocabSize).Select(x => (double)x)]));
    }

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void HalfPrecisionEntries_IntoAFloatCache_AreRefused(bool deviceKv)
    {
        var settings = new SessionSettings { KvResidence = deviceKv ? KvResidence.Device : KvResidence.Host };
        using var wide = DecoderModel.Load(TinyModels.Get("llama").Export, settings);
        using var half = DecoderModel.Load(TinyModels.Get("llama", ExportPrecision.Fp16, swiGlu: false).Export, settings);
        using var source = half.CreateCache(1);
        using var destination = wide.CreateCache(1);
        half.Forward(source, TinyModels.Ids(5, seed: 93), [5], LogitsSelection.LastPerRow);
        var error = Assert.ThrowsExactly<CondensaException>(() => source.CopyLastPassInto(destination, [5]));
        StringAssert.Contains(error.Message, "only a float32 cache's entries convert");
        Assert.AreEqual(0, destination.Lengths[0]);
    }

    [TestMethod]
    public void FromFloat_BFloat16_RoundsToNearestEven()
    {
        // 1 + 2^-8 lies halfway between bfloat16's 1 (0x3F80) and its next value (0x3F81): to the even one; 1 + 3·2^-8 lies
        // halfway between 0x3F81 and 0x3F82: to 0x3F82; just past halfway rounds up; a NaN stays a NaN
        float[] values = [1f, 1.00390625f, 1.01171875f, BitConverter.UInt32BitsToSingle(0x3F808001), -2.5f, float.NaN];
        var bytes = new byte[2 * values.Length];
        KvConversion.FromFloat(values, bytes, KvDataType.BFloat16);
        var bits = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(bytes).ToArray();
        CollectionAssert.AreEqual(new ushort[] { 0x3F80, 0x3F80, 0x3F82, 0x3F81, 0xC020 }, bits[..5]);
        Assert.IsTrue(float.IsNaN(BitConverter.UInt32BitsToSingle((uint)bits[5] << 16)));
    }

    [TestMethod]
    [DataRow(KvDataType.Float32, KvDataType.Float16, true)]
    [DataRow(KvDataType.Float32, KvDataType.BFloat16, true)]
    [DataRow(KvDataType.Float16, KvDataType.Float16, true)]
    [DataRow(KvDataType.Float16, KvDataType.Float32, false)]
    [DataRow(KvDataType.BFloat16, KvDataType.Float16, false)]
    public void Converts_OnlyFloatIntoHalfPrecision(KvDataType source, KvDataType destination, bool expected) =>
        Assert.AreEqual(expected, KvConversion.Converts(source, destination));
}
