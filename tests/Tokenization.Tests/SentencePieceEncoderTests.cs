namespace Condensa.Tokenization.Tests;

/// <summary>
/// Ids and decodes against sentencepiece's for models trained with nmt_nfkc, nfkc, identity and a custom rule table,
/// BPE and Unigram, with and without whitespace collapsing, dummy prefix and whitespace-as-suffix (sp_norm goldens),
/// through the same path a checkpoint folder takes (<see cref="TokenizerFactory.FromCheckpoint"/>).
/// </summary>
[TestClass]
public sealed class SentencePieceEncoderTests
{
    [TestMethod]
    [DynamicData(nameof(SentencePieceGoldenFiles.Cases), typeof(SentencePieceGoldenFiles))]
    public void Encode_GoldenTexts_IdsEqualSentencepiece(string name)
    {
        using var temp = GoldenFiles.Temp();
        var tokenizer = TokenizerFactory.FromCheckpoint(SentencePieceGoldenFiles.WriteCheckpoint(name, temp.Path));
        var failures = new List<string>();
        foreach (var (text, ids, pieces, _) in SentencePieceGoldenFiles.Rows(name))
        {
            int[] actual = tokenizer.Encode(text, addBos: false).ToArray();
            if (!ids.SequenceEqual(actual))
                failures.Add($"{Show(text)}: expected [{string.Join(",", ids)}] ({string.Join(" ", pieces)}) got [{string.Join(",", actual)}]");
        }
        Assert.AreEqual("sentencepiece", tokenizer.Format);
        Assert.AreEqual(0, failures.Count, $"{name}:\n" + string.Join("\n", failures));
    }

    [TestMethod]
    [DynamicData(nameof(SentencePieceGoldenFiles.Cases), typeof(SentencePieceGoldenFiles))]
    public void Decode_GoldenIds_TextEqualsSentencepiece(string name)
    {
        using var temp = GoldenFiles.Temp();
        var tokenizer = TokenizerFactory.FromCheckpoint(SentencePieceGoldenFiles.WriteCheckpoint(name, temp.Path));
        var failures = new List<string>();
        foreach (var (text, ids, _, decoded) in SentencePieceGoldenFiles.Rows(name))
        {
            string actual = tokenizer.Decode(ids);
            if (actual != decoded)
                failures.Add($"{Show(text)}: expected {Show(decoded)} got {Show(actual)}");
        }
        Assert.AreEqual(0, failures.Count, $"{name}:\n" + string.Join("\n", failures));
    }

    [TestMethod]
    [DynamicData(nameof(SentencePieceGoldenFiles.Cases), typeof(SentencePieceGoldenFiles))]
    public void Encode_OneCharacterPromptWithBos_IsBosThenSentencepieceIds(string name)
    {
        using var temp = GoldenFiles.Temp();
        var tokenizer = TokenizerFactory.FromCheckpoint(SentencePieceGoldenFiles.WriteCheckpoint(name, temp.Path));
        int[] expected = SentencePieceGoldenFiles.Rows(name).Single(r => r.Text == "x").Ids;
        var ids = tokenizer.Encode("x");
        Assert.AreEqual((int)SentencePieceGoldenFiles.Golden(name)["bos_id"]!, ids[0]);
        CollectionAssert.AreEqual(expected, ids.Skip(1).ToArray());
        Assert.IsGreaterThan(1, ids.Count, "a one-character prompt is more than BOS");
    }

    [TestMethod]
    public void Encode_NmtNfkcNewlineTabAndNbsp_BecomeSpacesNotBytes()
    {
        using var temp = GoldenFiles.Temp();
        var tokenizer = TokenizerFactory.FromCheckpoint(SentencePieceGoldenFiles.WriteCheckpoint("unigram_nmt_nfkc_keep_ws", temp.Path));
        var spaced = tokenizer.Encode("a b c d", addBos: false);
        CollectionAssert.AreEqual(spaced.ToArray(), tokenizer.Encode("a\nb\tc\u00a0d", addBos: false).ToArray());
        CollectionAssert.AreEqual(tokenizer.Encode("ABC", addBos: false).ToArray(), tokenizer.Encode("ＡＢＣ", addBos: false).ToArray());
    }

    private static string Show(string text) => System.Text.Json.JsonSerializer.Serialize(text);
}
