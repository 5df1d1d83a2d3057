namespace Condensa.Tokenization.Tests;

[TestClass]
public sealed class PrecompiledCharsMapTests
{
    private const string Source = "m/tokenizer.model: normalizer_spec.precompiled_charsmap";

    [TestMethod]
    public void TryMatch_NmtNfkcMap_LongestRuleWins()
    {
        var map = NmtNfkc();
        Assert.IsTrue(map.TryMatch("Ａx"u8, out int length, out var replacement));
        Assert.AreEqual((3, "A"), (length, System.Text.Encoding.UTF8.GetString(replacement)));
        Assert.IsTrue(map.TryMatch("\u00a0"u8, out length, out replacement));
        Assert.AreEqual((2, " "), (length, System.Text.Encoding.UTF8.GetString(replacement)));
        Assert.IsFalse(map.TryMatch("x"u8, out _, out _), "ASCII letters have no rule");
    }

    [TestMethod]
    [DataRow(new byte[] { 1, 0 }, "shorter than the 4-byte trie size")]
    [DataRow(new byte[] { 16, 0, 0, 0, 1, 2, 3, 4 }, "trie size 16")]
    [DataRow(new byte[] { 6, 0, 0, 0, 1, 2, 3, 4, 5, 6 }, "trie size 6")]
    public void Parse_CorruptBlob_ThrowsNamingFileAndField(byte[] blob, string why)
    {
        var e = Assert.ThrowsExactly<TokenizerLoadException>(() => PrecompiledCharsMap.Parse(blob, Source));
        StringAssert.StartsWith(e.Message, Source);
        StringAssert.Contains(e.Message, why);
    }

    [TestMethod]
    public void TryMatch_TriePointingOutside_ThrowsNamingFileAndField()
    {
        // one unit with offset 64: the walk for 'x' goes to unit 64 ^ 0x78 = 56, past the end of a one-unit trie
        byte[] blob = [4, 0, 0, 0, 0x00, 0x00, 0x01, 0x00, 0];
        var map = PrecompiledCharsMap.Parse(blob, Source);
        var e = Assert.ThrowsExactly<TokenizerLoadException>(() => map.TryMatch("x"u8, out _, out _));
        StringAssert.StartsWith(e.Message, Source);
    }

    [TestMethod]
    public void FromCheckpoint_CorruptCharsMap_ThrowsNamingFileAndField()
    {
        using var temp = GoldenFiles.Temp();
        byte[] model = SentencePieceGoldenFiles.ModelBytes("bpe_identity_collapse");
        byte[] corrupt = [.. model, 0x1A, 0x06, 0x12, 0x04, 0xFF, 0xFF, 0xFF, 0x0F];   // normalizer_spec { precompiled_charsmap: size 2^28-1 }
        string path = Path.Combine(temp.Path, "tokenizer.model");
        File.WriteAllBytes(path, corrupt);
        var e = Assert.ThrowsExactly<TokenizerLoadException>(() => TokenizerFactory.FromCheckpoint(temp.Path));
        StringAssert.Contains(e.Message, path + ": normalizer_spec.precompiled_charsmap");
    }

    private static PrecompiledCharsMap NmtNfkc()
    {
        var model = SentencePieceModelFile.Parse(SentencePieceGoldenFiles.ModelBytes("bpe_nmt_nfkc"), "bpe_nmt_nfkc");
        return PrecompiledCharsMap.Parse(model.Normalizer.PrecompiledCharsMap, Source);
    }
}
