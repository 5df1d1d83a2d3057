namespace Condensa.Cli.Tests;

[TestClass]
public sealed class TextFilesTests
{
    [TestMethod]
    [DataRow(new byte[] { 0x61, 0xFF, 0x62 }, 1)]                 // a byte that never occurs in UTF-8
    [DataRow(new byte[] { 0x61, 0x62, 0xC3 }, 2)]                 // a sequence cut short at the end
    [DataRow(new byte[] { 0xED, 0xA0, 0x80 }, 0)]                 // an encoded surrogate
    public void Decode_InvalidUtf8_ThrowsNamingSourceAndByte(byte[] bytes, int index)
    {
        var e = Assert.ThrowsExactly<IOException>(() => TextFiles.Decode(bytes, "notes.txt"));

        Assert.AreEqual($"notes.txt: not valid UTF-8 (byte {index}); save it as UTF-8.", e.Message);
    }

    [TestMethod]
    public void Decode_ValidUtf8WithByteOrderMark_DropsTheMark()
    {
        Assert.AreEqual("café", TextFiles.Decode([0xEF, 0xBB, 0xBF, .. "café"u8.ToArray()], "x"));
    }

    [TestMethod]
    public void ReadUtf8_MissingFile_NamesItsRole()
    {
        var e = Assert.ThrowsExactly<IOException>(() => TextFiles.ReadUtf8("/no/such/prompt.txt", "--prompt-file"));

        Assert.AreEqual("/no/such/prompt.txt: --prompt-file not found.", e.Message);
    }
}
