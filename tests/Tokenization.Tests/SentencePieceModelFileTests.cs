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
}
