namespace Condensa.Tokenization.Tests;

[TestClass]
public sealed class SentencePieceModelFileTests
{
    [TestMethod]
    [DataRow("sp_llama2", true)]
    [DataRow("sp_code", false)]
    public void Parse_TrainedModel_ReadsDummyPrefixAndPieceTypes(string name, bool addDummyPrefix)
    {
        string path = Path.Combine(GoldenFiles.Dir(name), "tokenizer.model");
        var model = SentencePieceModelFile.Parse(File.ReadAllBytes(path), path);
        Assert.AreEqual(addDummyPrefix, model.AddDummyPrefix);
        Assert.AreEqual(SentencePieceModelFile.Algorithm.Bpe, model.ModelType);
        Assert.AreEqual(1000, model.Pieces.Count);
        Assert.AreEqual(("<s>", SentencePieceModelFile.PieceType.Control), (model.Pieces[1].Text, model.Pieces[1].Type));
        Assert.AreEqual(256, model.Pieces.Count(p => p.Type == SentencePieceModelFile.PieceType.Byte));
    }

    [TestMethod]
    [DataRow("bpe_nmt_nfkc", "nmt_nfkc", true, true, false, false)]
    [DataRow("unigram_nfkc", "nfkc", true, false, false, false)]
    [DataRow("unigram_identity_keep_ws", "identity", false, true, false, false)]
    [DataRow("unigram_custom_suffix", "user_defined", true, true, true, true)]
    public void Parse_NormalizerCase_ReadsSpecTrainerFlagsAndDenormalizer(
        string name, string normalization, bool removeExtraWhitespaces, bool addDummyPrefix, bool suffix, bool denormalizer)
    {
        var model = SentencePieceModelFile.Parse(SentencePieceGoldenFiles.ModelBytes(name), name);
        Assert.AreEqual(normalization, model.Normalizer.Name);
        Assert.AreEqual(normalization != "identity", model.Normalizer.PrecompiledCharsMap.Length > 0);
        Assert.AreEqual(removeExtraWhitespaces, model.RemoveExtraWhitespaces);
        Assert.AreEqual(addDummyPrefix, model.AddDummyPrefix);
        Assert.IsTrue(model.Normalizer.EscapeWhitespaces);
        Assert.AreEqual(suffix, model.TreatWhitespaceAsSuffix);
        Assert.AreEqual(denormalizer, model.Denormalizer is not null);
        Assert.IsTrue(model.ByteFallback);
        Assert.AreEqual((1, 2), (model.BosId, model.EosId));
    }

    [TestMethod]
    public void Parse_TruncatedModel_ThrowsNamingFile()
    {
        byte[] data = SentencePieceGoldenFiles.ModelBytes("bpe_identity_collapse");
        var e = Assert.ThrowsExactly<TokenizerLoadException>(() => SentencePieceModelFile.Parse(data[..(data.Length / 2)], "some/tokenizer.model"));
        StringAssert.Contains(e.Message, "some/tokenizer.model");
    }
}
