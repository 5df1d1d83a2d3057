using System.Text;

namespace Condensa.Tokenization.Tests;

[TestClass]
public sealed class StreamingDecoderTests
{
    [TestMethod]
    [DynamicData(nameof(GoldenFiles.All), typeof(GoldenFiles))]
    public void Append_GoldenIdsOneAtATime_ConcatenatesToFullDecode(string name)
    {
        var tokenizer = TokenizerFactory.FromCheckpoint(GoldenFiles.Dir(name));
        foreach (var row in GoldenFiles.Rows(name))
        {
            foreach (bool skip in new[] { true, false })
            {
                var decoder = tokenizer.CreateStreamingDecoder(skip);
                var streamed = new StringBuilder();
                foreach (int id in row.Ids)
                {
                    string piece = decoder.Append(id);
                    Assert.IsFalse(piece.Contains('\uFFFD'), $"{TokenizerFactoryTests.Show(row.Text)}: a partial character was released");
                    Assert.IsFalse(piece.Contains('\u2581'), $"{TokenizerFactoryTests.Show(row.Text)}: a SentencePiece marker was released");
                    streamed.Append(piece);
                }
                streamed.Append(decoder.Flush());
                Assert.AreEqual(tokenizer.Decode(row.Ids, skip), streamed.ToString(), $"{TokenizerFactoryTests.Show(row.Text)} skip={skip}");
            }
        }
    }

    [TestMethod]
    public void Append_EmojiSplitOverByteTokens_HoldsUntilLastByte()
    {
        using var temp = GoldenFiles.Temp();
        Condensa.TestSupport.TinyTokenizerFiles.Write(temp.Path);
        var tokenizer = TokenizerFactory.FromCheckpoint(temp.Path);
        var ids = tokenizer.Encode("😀", addBos: false);   // four byte tokens: the tiny vocabulary has no emoji merges
        Assert.AreEqual(4, ids.Count);
        var decoder = tokenizer.CreateStreamingDecoder();
        CollectionAssert.AreEqual(new[] { "", "", "", "😀" }, ids.Select(decoder.Append).ToArray());
        Assert.AreEqual("", decoder.Flush());
    }

    [TestMethod]
    public void Append_SentencePieceWords_FirstLosesDummyPrefixOthersKeepSpace()
    {
        var tokenizer = TokenizerFactory.FromCheckpoint(GoldenFiles.Dir("sp_llama2"));
        var ids = tokenizer.Encode("self self", addBos: true);
        var decoder = tokenizer.CreateStreamingDecoder();
        string[] pieces = ids.Select(decoder.Append).ToArray();
        Assert.AreEqual("", pieces[0]);                   // <s>, skipped
        Assert.AreEqual("self", pieces[1]);
        Assert.AreEqual(" self", string.Concat(pieces.Skip(2)));
    }

    [TestMethod]
    public void Flush_UnfinishedSequence_ReturnsReplacementCharacter()
    {
        using var temp = GoldenFiles.Temp();
        Condensa.TestSupport.TinyTokenizerFiles.Write(temp.Path);
        var tokenizer = TokenizerFactory.FromCheckpoint(temp.Path);
        var ids = tokenizer.Encode("é", addBos: false);  // two byte tokens
        var decoder = tokenizer.CreateStreamingDecoder();
        Assert.AreEqual("", decoder.Append(ids[0]));
        Assert.AreEqual("\uFFFD", decoder.Flush());
        Assert.AreEqual("", decoder.Flush());
    }

    [TestMethod]
    public void Append_IdOutsideVocabulary_ThrowsArgumentOutOfRange()
    {
        var tokenizer = TokenizerFactory.FromCheckpoint(GoldenFiles.Dir("tiktoken_files"));
        var decoder = tokenizer.CreateStreamingDecoder();
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => decoder.Append(-1));
    }

    [TestMethod]
    [DataRow(new byte[] { 0x61 }, 1)]
    [DataRow(new byte[] { 0x61, 0xE4 }, 1)]
    [DataRow(new byte[] { 0x61, 0xE4, 0xBD }, 1)]
    [DataRow(new byte[] { 0x61, 0xE4, 0xBD, 0xA0 }, 4)]
    [DataRow(new byte[] { 0xF0, 0x9F, 0x98 }, 0)]
    [DataRow(new byte[] { 0xF0, 0x9F, 0x98, 0x80 }, 4)]
    [DataRow(new byte[] { 0x80, 0x80 }, 2)]
    [DataRow(new byte[] { 0xC3, 0x61 }, 2)]
    public void CompletePrefixLength_ByteTail_HoldsOnlyUnfinishedSequence(byte[] bytes, int expected)
    {
        Assert.AreEqual(expected, StreamingDecoder.CompletePrefixLength(bytes.ToList()));
    }
}
