namespace Condensa.Tokenization.Tests;

/// <summary>The shipped demo models' tokenizer folder: tokenizer.json is a SentencePiece conversion (Metaspace), so the
/// factory must load tokenizer.model beside it, and indented code must round-trip.</summary>
[TestClass]
public sealed class DemoTokenizerTests
{
    private static string DemoCode => Demo("demo-code");

    private static string Demo(string name) => Path.GetFullPath(Path.Combine(GoldenFiles.Dir("."), "..", "..", "..", "models", name));

    [TestMethod]
    public void FromCheckpoint_DemoCode_LoadsSentencePieceModelAndRoundTripsCode()
    {
        var tokenizer = TokenizerFactory.FromCheckpoint(DemoCode);
        const string code = "def fibonacci(n):\n    if n < 2:\n        return n\n\treturn fibonacci(n - 1) + fibonacci(n - 2)\n";
        var ids = tokenizer.Encode(code, addBos: true);
        Assert.AreEqual(tokenizer.BosTokenId, ids[0]);
        Assert.AreEqual(4096, tokenizer.VocabSize);
        Assert.AreEqual(code, tokenizer.Decode(ids));
        Assert.IsLessThan(code.Length * 2 / 3, ids.Count, $"a trained code tokenizer merges characters ({ids.Count} tokens for {code.Length} characters)");
    }

    [TestMethod]
    public void Encode_DemoCodeGolden_IdsAndDecodeEqualSentencepiece()
    {
        var tokenizer = TokenizerFactory.FromCheckpoint(DemoCode);
        var golden = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(GoldenFiles.Dir("sp_norm"), "demo_code.json")))!;
        var failures = new List<string>();
        foreach (var row in golden["rows"]!.AsArray())
        {
            string text = (string)row!["text"]!;
            int[] ids = row["ids"]!.AsArray().Select(x => (int)x!).ToArray();
            int[] actual = tokenizer.Encode(text, addBos: false).ToArray();
            if (!ids.SequenceEqual(actual))
                failures.Add($"{System.Text.Json.JsonSerializer.Serialize(text)}: expected [{string.Join(",", ids)}] got [{string.Join(",", actual)}]");
            if (tokenizer.Decode(ids) != (string)row["decoded"]!)
                failures.Add($"{System.Text.Json.JsonSerializer.Serialize(text)}: decode {System.Text.Json.JsonSerializer.Serialize(tokenizer.Decode(ids))}");
        }
        Assert.IsGreaterThan(60, golden["rows"]!.AsArray().Count);
        Assert.AreEqual(0, failures.Count, string.Join("\n", failures));
    }

    [TestMethod]
    [DataRow("demo-code-draft")]
    [DataRow("demo-code-lckv")]
    [DataRow("demo-code-mha")]
    public void FromCheckpoint_DemoSharingDemoCodesTokenizer_EncodesLikeDemoCode(string name)
    {
        // These folders hold tokenizer.from instead of copies of demo-code's tokenizer files.
        Assert.IsFalse(File.Exists(Path.Combine(Demo(name), "tokenizer.model")), "the files are stored once, in demo-code");
        const string code = "def add(a, b):\n    return a + b\n";
        var expected = TokenizerFactory.FromCheckpoint(DemoCode);

        var tokenizer = TokenizerFactory.FromCheckpoint(Demo(name));

        CollectionAssert.AreEqual(expected.Encode(code, addBos: true).ToArray(), tokenizer.Encode(code, addBos: true).ToArray());
        CollectionAssert.AreEquivalent(expected.EosTokenIds.ToArray(), tokenizer.EosTokenIds.ToArray());
    }

    [TestMethod]
    public void FromCheckpoint_TokenizerFromNamesMissingFolder_NamesTheFile()
    {
        var dir = Directory.CreateTempSubdirectory("condensa-shared-tokenizer-").FullName;
        File.WriteAllText(Path.Combine(dir, SharedTokenizer.FileName), "../no-such-folder");

        var e = Assert.ThrowsExactly<CondensaException>(() => TokenizerFactory.FromCheckpoint(dir));

        StringAssert.Contains(e.Message, SharedTokenizer.FileName);
        StringAssert.Contains(e.Message, "no-such-folder");
    }
}
