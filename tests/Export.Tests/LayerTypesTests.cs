namespace Condensa.Export.Tests;

[TestClass]
public sealed class LayerTypesTests
{
    [TestMethod]
    [DataRow("0_6_6_6_6_6_6_7", 8, new[] { 0, 6, 7 }, new[] { 6 }, "1-6")]                       // demo-code-lckv (w2 sandwich)
    [DataRow("0_20_20_20_20_20_20_20_20_20_20_20_20_20_20_20_20_20_20_20_20_21", 22, new[] { 0, 20, 21 }, new[] { 20 }, "1-20")] // LCKV w2
    [DataRow("0_1_2_3_4_16_16_16_16_16_16_16_16_16_16_16_16_17_18_19_20_21", 22,
        new[] { 0, 1, 2, 3, 4, 16, 17, 18, 19, 20, 21 }, new[] { 16 }, "5-16")]                    // released w10
    [DataRow("0_0_2_2_4_4", 6, new[] { 0, 2, 4 }, new int[0], "")]                                // CLA: no cyclic block
    [DataRow("0_2_2_3_5_5", 6, new[] { 0, 2, 3, 5 }, new[] { 2, 5 }, "1-2,4-5")]                  // two blocks
    [DataRow("0_3s_1_3", 4, new[] { 0, 1, 3 }, new[] { 3 }, "1-3")]                               // a block whose middle layer reads below
    public void Parse_ValidString_StoredPendingAndBlocks(string text, int layers, int[] stored, int[] pending, string blocks)
    {
        var layout = LayerCondensation.Of(LayerTypes.Parse(text, layers).Sources);
        CollectionAssert.AreEqual(stored, layout.StoredLayers.ToArray());
        CollectionAssert.AreEqual(pending, layout.PendingLayers.ToArray());
        Assert.AreEqual(blocks, string.Join(",", layout.CyclicBlocks.Select(b => $"{b.Start}-{b.End}")));
    }

    [TestMethod]
    public void Parse_SlidingSuffix_MarksOnlyThoseLayers()
    {
        var types = LayerTypes.Parse("0s_2_2s_3", 4);
        CollectionAssert.AreEqual(new[] { true, false, true, false }, types.Sliding.ToArray());
        CollectionAssert.AreEqual(new[] { 0, 2, 2, 3 }, types.Sources.ToArray());
    }

    [TestMethod]
    [DataRow("0_1_2", 4, "3 entries; num_hidden_layers is 4")]           // wrong length
    [DataRow("0_1_2_3_3", 4, "5 entries")]                               // wrong length
    [DataRow("0_1_9_3", 4, "entry 2 '9' names layer 9, outside 0..3")]   // index out of range
    [DataRow("0_1_2_99999999999", 4, "outside 0..3")]                    // overflows int
    [DataRow("0_1x_2_3", 4, "entry 1 '1x'")]                             // bad suffix
    [DataRow("0_1_2_3ss", 4, "entry 3 '3ss'")]                           // doubled suffix
    [DataRow("0__2_3", 4, "entry 1 ''")]                                 // empty entry
    [DataRow("0_-1_2_3", 4, "entry 1 '-1'")]                             // negative
    [DataRow("0_s_2_3", 4, "entry 1 's'")]                               // suffix without index
    public void Parse_Malformed_ErrorNamesFieldEntryAndValue(string text, int layers, string expected)
    {
        var e = Assert.ThrowsExactly<ExportException>(() => LayerTypes.Parse(text, layers, "ckpt/config.json"));
        StringAssert.Contains(e.Message, "ckpt/config.json");
        StringAssert.Contains(e.Message, "layer_types");
        StringAssert.Contains(e.Message, expected);
    }
}
