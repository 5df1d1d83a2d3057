using System.Text;

namespace Condensa.Tokenization.Tests;

[TestClass]
public sealed class TokenizerFactoryTests
{
    [TestMethod]
    [DataRow("llama3_bpe", "tokenizer.json")]
    [DataRow("qwen2_bpe", "tokenizer.json")]
    [DataRow("gpt2_files", "vocab.json+merges.txt")]
    [DataRow("tiktoken_files", "tiktoken")]
    [DataRow("sp_llama2", "sentencepiece")]
    [DataRow("sp_code", "sentencepiece")]
    public void FromCheckpoint_GoldenTexts_IdsEqualReference(string name, string format)
    {
        var tokenizer = TokenizerFactory.FromCheckpoint(GoldenFiles.Dir(name));
        var failures = new List<string>();
        foreach (var row in GoldenFiles.Rows(name))
        {
            int[] actual = tokenizer.Encode(row.Text).ToArray();
            if (!row.Ids.SequenceEqual(actual))
                failures.Add($"{Show(row.Text)}: expected [{string.Join(",", row.Ids)}] got [{string.Join(",", actual)}]");
        }
        Assert.AreEqual(format, tokenizer.Format);
        Assert.AreEqual(0, failures.Count, string.Join("\n", failures));
    }

    [TestMethod]
    [DynamicData(nameof(GoldenFiles.All), typeof(GoldenFiles))]
    public void FromCheckpoint_GoldenTextsWithoutBos_IdsEqualReference(string name)
    {
        var tokenizer = TokenizerFactory.FromCheckpoint(GoldenFiles.Dir(name));
        foreach (var row in GoldenFiles.Rows(name))
            CollectionAssert.AreEqual(row.IdsNoSpecial, tokenizer.Encode(row.Text, addBos: false).ToArray(), Show(row.Text));
    }

    [TestMethod]
    [DynamicData(nameof(GoldenFiles.All), typeof(GoldenFiles))]
    public void FromCheckpoint_GoldenFolder_SpecialIdsAndVocabSizeEqualReference(string name)
    {
        var golden = GoldenFiles.Golden(name);
        var tokenizer = TokenizerFactory.FromCheckpoint(GoldenFiles.Dir(name));
        Assert.AreEqual((int?)golden["bos_token_id"], tokenizer.BosTokenId);
        CollectionAssert.AreEqual(golden["eos_token_ids"]!.AsArray().Select(x => (int)x!).ToArray(), tokenizer.EosTokenIds.ToArray());
        Assert.AreEqual((int?)golden["pad_token_id"], tokenizer.PadTokenId);
        Assert.AreEqual((int)golden["vocab_size"]!, tokenizer.VocabSize);
    }

    [TestMethod]
    public void FromCheckpoint_Llama3GenerationConfig_EveryEosIdStops()
    {
        var tokenizer = TokenizerFactory.FromCheckpoint(GoldenFiles.Dir("llama3_bpe"));
        Assert.IsTrue(tokenizer.IsEos(tokenizer.AddedTokens["<|eot_id|>"]));
        Assert.IsTrue(tokenizer.IsEos(tokenizer.AddedTokens["<|end_of_text|>"]));
        Assert.IsFalse(tokenizer.IsEos(tokenizer.AddedTokens["<|start_header_id|>"]));
    }

    [TestMethod]
    public void FromCheckpoint_TinyTokenizerFiles_LoadsWithBos1Eos2()
    {
        using var temp = GoldenFiles.Temp();
        Condensa.TestSupport.TinyTokenizerFiles.Write(temp.Path);
        var tokenizer = TokenizerFactory.FromCheckpoint(temp.Path);
        Assert.AreEqual(1, tokenizer.BosTokenId);
        CollectionAssert.AreEqual(new[] { 2 }, tokenizer.EosTokenIds.ToArray());
        Assert.AreEqual(Condensa.TestSupport.TinyTokenizerFiles.VocabSize, tokenizer.VocabSize);
        Assert.IsTrue(tokenizer.VocabSize <= 320);
        const string text = "say the thing is    on\n\nfire 😀 你好</s>";
        var ids = tokenizer.Encode(text);
        Assert.AreEqual(1, ids[0]);
        Assert.AreEqual(2, ids[^1]);
        Assert.IsTrue(ids.Contains(tokenizer.Inner.EncodeToIds(" the")[0]), "the merge Ġthe is used");
        Assert.AreEqual(text, tokenizer.Decode(ids, skipSpecialTokens: false)[3..]);
        Assert.AreEqual("zephyr", ChatTemplate.ForCheckpoint(temp.Path).Name);
    }

    [TestMethod]
    public void FromCheckpoint_MissingFolder_ThrowsNamingFolder()
    {
        string dir = Path.Combine(Path.GetTempPath(), "condensa-no-such-folder-" + Guid.NewGuid().ToString("N"));
        var e = Assert.ThrowsExactly<TokenizerLoadException>(() => TokenizerFactory.FromCheckpoint(dir));
        StringAssert.Contains(e.Message, dir);
    }

    [TestMethod]
    public void FromCheckpoint_NoTokenizerFile_ThrowsListingFilesLookedFor()
    {
        using var temp = GoldenFiles.Temp();
        temp.File("config.json", "{}");
        var e = Assert.ThrowsExactly<TokenizerLoadException>(() => TokenizerFactory.FromCheckpoint(temp.Path));
        StringAssert.Contains(e.Message, "no tokenizer file");
        StringAssert.Contains(e.Message, "tokenizer.model");
    }

    [TestMethod]
    [DataRow("tokenizer.json", "{ \"model\": { \"type\": \"BPE\", ")]
    [DataRow("tokenizer.json", "[1, 2]")]
    [DataRow("tokenizer_config.json", "{ \"bos_token\": ")]
    public void FromCheckpoint_MalformedJson_ThrowsNamingFile(string file, string content)
    {
        using var temp = GoldenFiles.Temp();
        File.Copy(Path.Combine(GoldenFiles.Dir("llama3_bpe"), "tokenizer.json"), Path.Combine(temp.Path, "tokenizer.json"));
        temp.File(file, content);
        var e = Assert.ThrowsExactly<TokenizerLoadException>(() => TokenizerFactory.FromCheckpoint(temp.Path));
        StringAssert.Contains(e.Message, file);
    }

    [TestMethod]
    [DataRow("Unigram")]
    [DataRow("WordPiece")]
    public void FromCheckpoint_UnsupportedModelType_ThrowsNamingType(string type)
    {
        using var temp = GoldenFiles.Temp();
        temp.File("tokenizer.json", $"{{ \"model\": {{ \"type\": \"{type}\", \"vocab\": [] }} }}");
        var e = Assert.ThrowsExactly<TokenizerLoadException>(() => TokenizerFactory.FromCheckpoint(temp.Path));
        StringAssert.Contains(e.Message, $"unsupported tokenizer model type '{type}'");
        StringAssert.Contains(e.Message, "tokenizer.json");
    }

    [TestMethod]
    public void FromCheckpoint_UnigramJsonBesideSentencePieceModel_UsesTokenizerModel()
    {
        using var temp = GoldenFiles.Temp();
        File.Copy(Path.Combine(GoldenFiles.Dir("sp_llama2"), "tokenizer.model"), Path.Combine(temp.Path, "tokenizer.model"));
        temp.File("tokenizer.json", "{ \"model\": { \"type\": \"Unigram\", \"vocab\": [] } }");
        var tokenizer = TokenizerFactory.FromCheckpoint(temp.Path);
        Assert.AreEqual("sentencepiece", tokenizer.Format);
        Assert.AreEqual(1, tokenizer.BosTokenId);
    }

    [TestMethod]
    public void FromCheckpoint_MalformedSentencePieceModel_ThrowsNamingFile()
    {
        using var temp = GoldenFiles.Temp();
        File.WriteAllBytes(Path.Combine(temp.Path, "tokenizer.model"), [0x0A, 0xFF, 0xFF, 0xFF, 0x0F, 0x01, 0x02]);
        var e = Assert.ThrowsExactly<TokenizerLoadException>(() => TokenizerFactory.FromCheckpoint(temp.Path));
        StringAssert.Contains(e.Message, "tokenizer.model");
    }

    [TestMethod]
    public void FromCheckpoint_MalformedTiktokenLine_ThrowsNamingLine()
    {
        using var temp = GoldenFiles.Temp();
        temp.File("tokenizer.model", "IQ== 0\nIg== 1\nnot-base64!! x\n");
        var e = Assert.ThrowsExactly<TokenizerLoadException>(() => TokenizerFactory.FromCheckpoint(temp.Path));
        StringAssert.Contains(e.Message, "line 3");
    }

    [TestMethod]
    public void FromCheckpoint_MergesWithoutVocab_ThrowsNamingBothFiles()
    {
        using var temp = GoldenFiles.Temp();
        temp.File("merges.txt", "#version: 0.2\nĠ t\n");
        var e = Assert.ThrowsExactly<TokenizerLoadException>(() => TokenizerFactory.FromCheckpoint(temp.Path));
        StringAssert.Contains(e.Message, "vocab.json");
    }

    [TestMethod]
    public void FromCheckpoint_EosTokenNotInVocabulary_ThrowsNamingField()
    {
        using var temp = GoldenFiles.Temp();
        File.Copy(Path.Combine(GoldenFiles.Dir("qwen2_bpe"), "tokenizer.json"), Path.Combine(temp.Path, "tokenizer.json"));
        temp.File("tokenizer_config.json", "{ \"eos_token\": \"<|no_such_token|>\" }");
        var e = Assert.ThrowsExactly<TokenizerLoadException>(() => TokenizerFactory.FromCheckpoint(temp.Path));
        StringAssert.Contains(e.Message, "eos_token");
        StringAssert.Contains(e.Message, "<|no_such_token|>");
    }

    [TestMethod]
    public void FromCheckpoint_EmptyDir_ThrowsArgumentException()
    {
        Assert.ThrowsExactly<ArgumentException>(() => TokenizerFactory.FromCheckpoint(""));
    }

    internal static string Show(string text)
    {
        var sb = new StringBuilder("'");
        foreach (char c in text)
            sb.Append(c switch { '\n' => "\\n", '\t' => "\\t", '\r' => "\\r", _ => c.ToString() });
        return sb.Append('\'').ToString();
    }
}
