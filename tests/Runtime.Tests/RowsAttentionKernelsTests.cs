namespace Condensa.Runtime.Tests;

/// <summary>The multi-row causal graph's attention kernels on cuda: flash attention where each KV head has one query head, the
/// unfused kernel for grouped-query attention, unless an experiment names others; the slots graph's, the unfused kernel unless
/// named.</summary>
[TestClass]
public sealed class RowsAttentionKernelsTests
{
    [TestMethod]
    [DataRow(null, 8, 16)]
    [DataRow("", 2, 16)]
    [DataRow(" ", 8, 16)]
    [DataRow(null, 1, 1)]
    [DataRow("", 1, 1)]
    [DataRow("2", 8, 2)]
    [DataRow(" 1 ", 8, 1)]
    [DataRow("16", 1, 16)]
    [DataRow("18", 1, 18)]
    public void RowsAttentionKernels_UnsetIsFlashWithoutGroupsElseUnfused_ElseTheBitsGiven(string? value, int queryHeadsPerKvHead, int expected) =>
        Assert.AreEqual(expected, DecoderSessions.RowsAttentionKernels(value, queryHeadsPerKvHead));

    [TestMethod]
    [DataRow("0")]
    [DataRow("1024")]
    [DataRow("-2")]
    [DataRow("flash")]
    [DataRow("2.5")]
    public void RowsAttentionKernels_NotBits_OneErrorNamingTheVariableAndValue(string value)
    {
        var error = Assert.ThrowsExactly<CondensaException>(() => DecoderSessions.RowsAttentionKernels(value, 1));
        StringAssert.Contains(error.Message, $"CONDENSA_ROWS_ATTENTION_KERNELS='{value}'");
    }

    [TestMethod]
    [DataRow(null, 16)]
    [DataRow(" ", 16)]
    [DataRow("2", 2)]
    [DataRow(" 18 ", 18)]
    public void SlotsAttentionKernels_UnsetIsUnfused_ElseTheBitsGiven(string? value, int expected) =>
        Assert.AreEqual(expected, DecoderSessions.SlotsAttentionKernels(value));

    [TestMethod]
    public void SlotsAttentionKernels_NotBits_OneErrorNamingItsVariable()
    {
        var error = Assert.ThrowsExactly<CondensaException>(() => DecoderSessions.SlotsAttentionKernels("mea"));
        StringAssert.Contains(error.Message, "CONDENSA_SLOTS_ATTENTION_KERNELS='mea'");
    }
}
