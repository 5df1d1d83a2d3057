namespace Condensa.Tokenization.Tests;

[TestClass]
public sealed class CheckpointTokenizerTests
{
    [TestMethod]
    [DynamicData(nameof(GoldenFiles.All), typeof(GoldenFiles))]
    public void Decode_GoldenIds_EqualsReferenceDecode(string name)
    {
        var tokenizer = TokenizerFactory.FromCheckpoint(GoldenFiles.Dir(name));
        int checkedKeep = 0;
        foreach (var row in GoldenFiles.Rows(name))
        {
            Assert.AreEqual(row.Decoded, tokenizer.Decode(row.Ids), TokenizerFactoryTests.Show(row.Text));
            if (row.DecodedKeepSpecial is { } keep)
            {
                Assert.AreEqual(keep, tokenizer.Decode(row.Ids, skipSpecialTokens: false), TokenizerFactoryTests.Show(row.Text));
                checkedKeep++;
            }
        }
        Assert.IsTrue(checkedKeep > 0 || name == "sp_code", "keep-special decodes were checked");
    }

    [TestMethod]
    [DynamicData(nameof(GoldenFiles.All), typeof(GoldenFiles))]
    public void Decode_EncodedGoldenText_RoundTripsToInput(string name)
    {
        var tokenizer = TokenizerFactory.FromCheckpoint(GoldenFiles.Dir(name));
        foreach (var row in GoldenFiles.Rows(name))
        {
            var ids = tokenizer.Encode(row.Text, addBos: false);
            Assert.AreEqual(row.Text, tokenizer.Decode(ids, skipSpecialTokens: false), TokenizerFactoryTests.Show(row.Text));
        }
    }

    [TestMethod]
    [DataRow("qwen2_bpe", "<|im_start|>user\nhi<|im_end|>", "<|im_start|>", "<|im_end|>")]
    [DataRow("llama3_bpe", "<|start_header_id|>user<|end_header_id|>", "<|start_header_id|>", "<|end_header_id|>")]
    [DataRow("sp_llama2", "<s>[INST] hi [/INST]</s>", "<s>", "</s>")]
    [DataRow("gpt2_files", "a<|endoftext|>", "<|endoftext|>", "<|endoftext|>")]
    public void Encode_SpecialTokenWrittenInText_BecomesItsId(string name, string text, string first, string last)
    {
        var tokenizer = TokenizerFactory.FromCheckpoint(GoldenFiles.Dir(name));
        var ids = tokenizer.Encode(text, addBos: false);
        Assert.IsTrue(ids.Contains(tokenizer.AddedTokens[first]), first);
        Assert.AreEqual(tokenizer.AddedTokens[last], ids[^1]);
        Assert.IsTrue(tokenizer.IsSpecial(ids[^1]));
    }

    [TestMethod]
    [DataRow("llama3_bpe", true)]
    [DataRow("tiktoken_files", true)]
    [DataRow("sp_llama2", true)]
    [DataRow("qwen2_bpe", false)]
    [DataRow("gpt2_files", false)]
    public void Encode_AddBos_PrependsBosOnlyWhereCheckpointDoes(string name, bool prepends)
    {
        var tokenizer = TokenizerFactory.FromCheckpoint(GoldenFiles.Dir(name));
        var with = tokenizer.Encode("hello");
        var without = tokenizer.Encode("hello", addBos: false);
        Assert.AreEqual(prepends ? without.Count + 1 : without.Count, with.Count);
        if (prepends)
            Assert.AreEqual(tokenizer.BosTokenId, with[0]);
    }

    [TestMethod]
    public void Decode_SkipSpecialTokens_DropsOnlySpecialIds()
    {
        var tokenizer = TokenizerFactory.FromCheckpoint(GoldenFiles.Dir("qwen2_bpe"));
        var ids = tokenizer.Encode("<|im_start|>user\nhi<|im_end|>");
        Assert.AreEqual("user\nhi", tokenizer.Decode(ids));
        Assert.AreEqual("<|im_start|>user\nhi<|im_end|>", tokenizer.Decode(ids, skipSpecialTokens: false));
    }

    [TestMethod]
    public void Decode_IdOutsideVocabulary_ThrowsArgumentOutOfRange()
    {
        var tokenizer = TokenizerFactory.FromCheckpoint(GoldenFiles.Dir("gpt2_files"));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => tokenizer.Decode([1, tokenizer.VocabSize]));
    }

    [TestMethod]
    public void Inner_ByteLevelCheckpoint_IsMicrosoftMlBpeTokenizer()
    {
        var tokenizer = TokenizerFactory.FromCheckpoint(GoldenFiles.Dir("qwen2_bpe"));
        Assert.IsInstanceOfType<Microsoft.ML.Tokenizers.BpeTokenizer>(tokenizer.Inner);
        CollectionAssert.AreEqual(tokenizer.Encode("def f(x):", addBos: false).ToArray(), tokenizer.Inner.EncodeToIds("def f(x):").ToArray());
    }
}
