namespace Condensa.Runtime.Tests;

/// <summary>The multi-row causal graph's attention kernels on cuda: the unfused one unless an experiment names others.</summary>
[TestClass]
public sealed class RowsAttentionKernelsTests
{
    [TestMethod]
    [DataRow(null, 16)]
    [DataRow("", 16)]
    [DataRow(" ", 16)]
    [DataRow("2", 2)]
    [DataRow(" 1 ", 1)]
    [DataRow("18", 18)]
    public void RowsAttentionKernels_UnsetIsTheUnfusedKernel_ElseTheBitsGiven(string? value, int expected) =>
        Assert.AreEqual(expected, DecoderSessions.RowsAttentionKernels(value));

    [TestMethod]
    [DataRow("0")]
    [DataRow("1024")]
    [DataRow("-2")]
    [DataRow("flash")]
    [DataRow("2.5")]
    public void RowsAttentionKernels_NotBits_OneErrorNamingTheVariableAndValue(string value)
    {
        var error = Assert.ThrowsExactly<CondensaException>(() => DecoderSessions.RowsAttentionKernels(value));
        StringAssert.Contains(error.Message, $"CONDENSA_ROWS_ATTENTION_KERNELS='{value}'");
    }
}
