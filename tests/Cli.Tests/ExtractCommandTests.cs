using System.Text.Json;

namespace Condensa.Cli.Tests;

[TestClass]
public sealed class ExtractCommandTests
{
    [TestMethod]
    [DataRow("none", "3", null)]
    [DataRow("lookup", "2", null)]
    [DataRow("lookup", "1", null)]
    [DataRow("self", "3", null)]
    [DataRow("self", "3", "fp16")]   // drafted by the checkpoint's fp16 export
    [DataRow("draft", "3", null)]    // a draft model, its rows refilled beside the target's
    [DataRow("draft", "2", "fp16")]  // the draft model's fp16 export
    [DataRow("tree", "3", null)]     // token trees drafted by self-speculation
    public async Task Extract_Greedy_EachRecordEqualsGenerateOfItsPrompt(string speculative, string batch, string? draftPrecision)
    {
        var checkpoint = CliRunner.Checkpoint();
        var files = new ExtractFiles();
        var input = files.Documents(7);
        var output = files.Path("out.jsonl");

        string[] drafts = [.. draftPrecision is null ? [] : new[] { "--draft-precision", draftPrecision },
            .. speculative == "draft" ? new[] { "--draft", CliRunner.DraftCheckpoint() } : []];
        var (exit, stdout, error) = await CliRunner.Run(["extract", "--model", checkpoint, "--input", input, "--output", output,
            "--prompt-template", files.Template, "--batch", batch, "--max-tokens", "16", "--prefill-chunk", "8", "--speculative", speculative, .. drafts]);

        Assert.AreEqual(0, exit, error);
        if (draftPrecision is not null) StringAssert.Contains(error, "(Fp16)", "the checkpoint exported at fp16 drafts");
        StringAssert.Contains(stdout, "7 records (0 errors)");
        StringAssert.Contains(stdout, "documents/s");
        if (speculative != "none") StringAssert.Contains(stdout, $"| {speculative} acceptance");
        // where the time went: prefill, decode (a speculative job's split into drafting and verifying) and the regrowths
        var split = speculative == "none" ? "" : @" \(drafting \d+\.\d\d s, verifying \d+\.\d\d s\)";
        StringAssert.Matches(stdout, new System.Text.RegularExpressions.Regex($@"\| prefill \d+\.\d\d s, decode \d+\.\d\d s{split}, KV cache regrown \d+ times"));
        var records = ExtractFiles.Records(output);
        Assert.HasCount(7, records);
        foreach (var record in records)
        {
            var line = record.GetProperty("line").GetInt32();
            var document = JsonDocument.Parse(File.ReadLines(input).ElementAt(line - 1)).RootElement;
            Assert.AreEqual(document.GetProperty("id").GetString(), record.GetProperty("id").GetString());
            var prompt = $"Document {document.GetProperty("id").GetString()}:\n{document.GetProperty("text").GetString()}\nSummary:";
            var single = await CliRunner.Run("generate", "--model", checkpoint, "--prompt", prompt, "--max-tokens", "16", "--json");
            using var json = JsonDocument.Parse(single.Output);
            Assert.AreEqual(json.RootElement.GetProperty("text").GetString(), record.GetProperty("text").GetString(), $"line {line}");
            Assert.AreEqual(json.RootElement.GetProperty("prompt_tokens").GetInt32(), record.GetProperty("prompt_tokens").GetInt32());
        }
    }

    [TestMethod]
    public async Task Extract_SelfSpeculation_ReadsThePairsCalibration_ACorruptOneNamedBeforeAnyRecord()
    {
        // an adaptive chain starts from the calibration `condensa calibrate` saved for the pair (16 + 256, the target drafting),
        // so extract reads it: a file that is not one stops the job with its name, before any output is written
        var checkpoint = CliRunner.Checkpoint(new Condensa.TestSupport.TinyModelSpec { Architecture = "llama", Seed = 43 });
        var exportDir = ModelResolver.Resolve(checkpoint, null, Condensa.Export.ExportPrecision.Fp32, TextWriter.Null).ExportDir;
        var calibration = Path.Combine(exportDir, "calibration-self-16-256.json");
        await File.WriteAllTextAsync(calibration, "{ not json");
        var files = new ExtractFiles();
        var output = files.Path("out.jsonl");

        var (exit, _, error) = await CliRunner.Run("extract", "--model", checkpoint, "--input", files.Documents(3), "--output", output,
            "--prompt-template", files.Template, "--max-tokens", "8", "--speculative", "self");

        Assert.AreEqual(1, exit);
        StringAssert.Contains(error, calibration);
        StringAssert.Contains(error, "rerun condensa calibrate");
        Assert.IsFalse(File.Exists(output) && new FileInfo(output).Length > 0, "no record written");
    }

    [TestMethod]
    public async Task Extract_MalformedLines_ErrorRecordsWithLineNumbers_JobGoesOn()
    {
        var checkpoint = CliRunner.Checkpoint();
        var files = new ExtractFiles();
        var input = files.Lines("docs.jsonl",
            ExtractFiles.Utf8("""{"id": "a", "text": "first"}"""),            // 1 ok
            ExtractFiles.Utf8("""{"id": "b", "text": "unterminated"""),        // 2 bad JSON
            [.. ExtractFiles.Utf8("""{"id": "c", "text": "bad """), 0xC3, 0x28, .. ExtractFiles.Utf8("\"}")],   // 3 invalid UTF-8
            ExtractFiles.Utf8("[1, 2]"),                                        // 4 not an object
            ExtractFiles.Utf8("""{"text": "no id"}"""),                         // 5 no id
            ExtractFiles.Utf8("""{"id": "a", "text": "again"}"""),              // 6 duplicate id
            ExtractFiles.Utf8(""),                                              // 7 blank: no record
            ExtractFiles.Utf8("""{"id": 8, "body": "no text field"}"""),        // 8 template field missing
            ExtractFiles.Utf8($$"""{"id": "long", "text": "{{new string('x', 400)}}"}"""),   // 9 over the 256-token context
            ExtractFiles.Utf8("""{"id": "z", "text": "last"}"""));           // 10 ok
        var output = files.Path("out.jsonl");

        var (exit, stdout, error) = await CliRunner.Run("extract", "--model", checkpoint, "--input", input, "--output", output,
            "--prompt-template", files.Template, "--batch", "2", "--max-tokens", "8");

        Assert.AreEqual(0, exit, error);
        StringAssert.Contains(stdout, "9 records (7 errors)");
        var byKey = ExtractFiles.ByKey(output);
        CollectionAssert.AreEquivalent(new[] { 1, 2, 3, 4, 5, 6, 8, 9, 10 }.Select(n => $"line {n}").ToArray(), byKey.Keys.ToArray());
        string Error(int line) => byKey[$"line {line}"].GetProperty("error").GetString()!;
        Assert.IsTrue(byKey["line 1"].TryGetProperty("text", out _));
        Assert.IsTrue(byKey["line 10"].TryGetProperty("text", out _));
        StringAssert.Contains(Error(2), "docs.jsonl:2: not valid JSON");
        StringAssert.Contains(Error(3), "docs.jsonl:3: not valid UTF-8");
        StringAssert.Contains(Error(4), "docs.jsonl:4: expected a JSON object");
        StringAssert.Contains(Error(5), "docs.jsonl:5: field \"id\"");
        StringAssert.Contains(Error(6), "docs.jsonl:6: duplicate id 'a' (first on line 1)");
        StringAssert.Contains(Error(8), "docs.jsonl:8: field \"text\" used by the prompt template");
        StringAssert.Contains(Error(9), "docs.jsonl:9: Context overflow");
        Assert.AreEqual("a", ExtractFiles.Id(byKey["line 6"]));
        Assert.AreEqual("8", ExtractFiles.Id(byKey["line 8"]));
        Assert.IsNull(ExtractFiles.Id(byKey["line 2"]));
    }

    [TestMethod]
    public async Task Extract_FolderInput_IdIsTheFileName_BadEncodingIsAnErrorRecord()
    {
        var checkpoint = CliRunner.Checkpoint();
        var files = new ExtractFiles();
        var folder = Directory.CreateDirectory(files.Path("docs")).FullName;
        File.WriteAllText(Path.Combine(folder, "b.txt"), "second document");
        Directory.CreateDirectory(Path.Combine(folder, "sub"));
        File.WriteAllText(Path.Combine(folder, "sub", "a.txt"), "nested document");
        File.WriteAllBytes(Path.Combine(folder, "bad.txt"), [0x61, 0xFF, 0x62]);
        File.WriteAllText(Path.Combine(folder, ".hidden"), "skipped");
        var output = files.Path("out.jsonl");

        var (exit, _, error) = await CliRunner.Run("extract", "--model", checkpoint, "--input", folder, "--output", output,
            "--prompt-template", files.Template, "--max-tokens", "6");

        Assert.AreEqual(0, exit, error);
        var byKey = ExtractFiles.ByKey(output);
        CollectionAssert.AreEquivalent(new[] { "file b.txt", "file bad.txt", "file sub/a.txt" }, byKey.Keys.ToArray());
        Assert.AreEqual("sub/a.txt", ExtractFiles.Id(byKey["file sub/a.txt"]));
        Assert.AreEqual(6, byKey["file b.txt"].GetProperty("generated_tokens").GetInt32());
        StringAssert.Contains(byKey["file bad.txt"].GetProperty("error").GetString(), "bad.txt: not valid UTF-8 (byte 1)");
    }

    [TestMethod]
    public async Task Extract_Shards_PartitionTheInputExactly()
    {
        var checkpoint = CliRunner.Checkpoint();
        var files = new ExtractFiles();
        var input = files.Documents(11);
        string[] Args(string output) => ["extract", "--model", checkpoint, "--input", input, "--output", output, "--prompt-template", files.Template,
            "--batch", "3", "--max-tokens", "6"];
        var whole = files.Path("whole.jsonl");
        Assert.AreEqual(0, (await CliRunner.Run(Args(whole))).Exit);

        var seen = new Dictionary<string, string>();
        for (var i = 0; i < 3; i++)
        {
            var part = files.Path($"shard-{i}.jsonl");
            var run = await CliRunner.Run([.. Args(part), "--shard", $"{i}/3"]);
            Assert.AreEqual(0, run.Exit, run.Error);
            foreach (var (key, record) in ExtractFiles.ByKey(part))
            {
                Assert.AreEqual(i, (int.Parse(key["line ".Length..]) - 1) % 3, $"{key} landed in shard {i}");
                Assert.IsTrue(seen.TryAdd(key, ExtractFiles.Content(record)), $"{key} is in two shards");
            }
        }
        var expected = ExtractFiles.ByKey(whole);
        CollectionAssert.AreEquivalent(expected.Keys.ToArray(), seen.Keys.ToArray());
        foreach (var (key, record) in expected) Assert.AreEqual(ExtractFiles.Content(record), seen[key], key);
    }

    [TestMethod]
    [DataRow("3/3")]
    [DataRow("-1/2")]
    [DataRow("1")]
    [DataRow("a/b")]
    public async Task Extract_BadShard_NamesTheValue(string shard)
    {
        var files = new ExtractFiles();
        var (exit, _, error) = await CliRunner.Run("extract", "--model", files.Folder, "--input", files.Documents(1), "--output", files.Path("o.jsonl"),
            "--prompt-template", files.Template, "--shard", shard);
        Assert.AreEqual(1, exit);
        StringAssert.Contains(error, $"--shard '{shard}'");
    }

    [TestMethod]
    public async Task Extract_TemplateNotUtf8_NamesTheFile()
    {
        var checkpoint = CliRunner.Checkpoint();
        var files = new ExtractFiles();
        File.WriteAllBytes(files.Template, [.. ExtractFiles.Utf8("R\u00e9sum\u00e9 {{text}}"), 0xFF]);

        var (exit, _, error) = await CliRunner.Run("extract", "--model", checkpoint, "--input", files.Documents(2), "--output", files.Path("out.jsonl"),
            "--prompt-template", files.Template);

        Assert.AreEqual(1, exit);
        Assert.AreEqual($"error: {files.Template}: not valid UTF-8 (byte 17); save it as UTF-8.", error.TrimEnd().Split('\n')[^1]);
    }

    [TestMethod]
    public async Task Extract_TemplateWithoutPlaceholder_NamesTheFile()
    {
        var checkpoint = CliRunner.Checkpoint();
        var files = new ExtractFiles();
        File.WriteAllText(files.Template, "Summarise.");
        var (exit, _, error) = await CliRunner.Run("extract", "--model", checkpoint, "--input", files.Documents(1), "--output", files.Path("o.jsonl"),
            "--prompt-template", files.Template);
        Assert.AreEqual(1, exit);
        StringAssert.Contains(error, "template.txt: the prompt template has no {{field}} placeholder");
    }
}
