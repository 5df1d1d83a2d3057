namespace Condensa.Export.Tests;

[TestClass]
public sealed class RopeSettingsTests
{
    // Llama 3.1 8B rope (theta 500000, head_dim 128, factor 8, low 1, high 4, original 8192); expected values
    // from transformers' _compute_llama3_parameters transcribed to Python: high band kept, low band / 8,
    // medium band interpolated.
    [TestMethod]
    [DataRow(0, 1.0)]
    [DataRow(20, 0.016560440080994446)]
    [DataRow(25, 0.005940730375674967)]
    [DataRow(30, 0.0013718935677611381)]
    [DataRow(40, 3.428102195952591e-05)]
    [DataRow(63, 3.068925988914511e-07)]
    public void InverseFrequencies_Llama31_MatchesTransformers(int index, double expected)
    {
        var rope = new RopeSettings("llama3", 500000.0, 8.0, 1.0, 4.0, 8192);

        double actual = rope.InverseFrequencies(128)[index];

        Assert.AreEqual(expected, actual, Math.Abs(expected) * 1e-12);
    }

    [TestMethod]
    public void InverseFrequencies_Linear_DividesDefaultByFactor()
    {
        var plain = new RopeSettings("default", 10000.0).InverseFrequencies(16);
        var linear = new RopeSettings("linear", 10000.0, Factor: 4.0).InverseFrequencies(16);

        for (int i = 0; i < plain.Length; i++) Assert.AreEqual(plain[i] / 4.0, linear[i], 1e-15);
        Assert.AreEqual(8, plain.Length);
        Assert.AreEqual(1.0, plain[0]);
    }

    [TestMethod]
    public void InverseFrequencies_UnknownType_ThrowsNamingType()
    {
        var e = Assert.ThrowsExactly<ExportException>(() => new RopeSettings("yarn", 10000.0).InverseFrequencies(16));

        Assert.Contains("'yarn'", e.Message);
    }

    [TestMethod]
    public void InverseFrequencies_LongropeLongFactors_DivideByTheirOwnList()
    {
        var rope = new RopeSettings("longrope", 10000.0, OriginalMaxPositionEmbeddings: 64)
        {
            PartialRotaryFactor = 0.5, ShortFactor = [1.0, 2.0, 4.0, 8.0], LongFactor = [3.0, 5.0, 7.0, 9.0],
        };

        var shortInv = rope.InverseFrequencies(16);
        var longInv = rope.InverseFrequencies(16, longFactors: true);

        Assert.HasCount(4, longInv);
        for (int i = 0; i < 4; i++)
        {
            Assert.AreEqual(1.0 / (rope.ShortFactor[i] * Math.Pow(10000.0, 2.0 * i / 8)), shortInv[i], 1e-15);
            Assert.AreEqual(1.0 / (rope.LongFactor[i] * Math.Pow(10000.0, 2.0 * i / 8)), longInv[i], 1e-15);
        }
        var missing = Assert.ThrowsExactly<ExportException>(() => (rope with { LongFactor = null }).InverseFrequencies(16, longFactors: true));
        StringAssert.Contains(missing.Message, "long_factor");
    }

    [TestMethod]
    [DataRow("longrope", 256, 64)]
    [DataRow("longrope", 64, null)]    // no position reaches the original context: no long rows
    [DataRow("llama3", 256, null)]
    [DataRow("default", 256, null)]
    public void LongRowsOffset_OnlyLongropePastItsOriginalContext(string type, int maxPositions, int? offset)
    {
        var rope = new RopeSettings(type, 10000.0, OriginalMaxPositionEmbeddings: 64);

        Assert.AreEqual(offset, rope.LongRowsOffset(maxPositions));
        Assert.AreEqual((offset ?? 0) + maxPositions + RopeSettings.PaddingRows, rope.TableRows(maxPositions), "then the padding rows");
    }
}
