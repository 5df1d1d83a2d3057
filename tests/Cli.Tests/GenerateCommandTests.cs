using System.Text.Json;
using Condensa.TestSupport;

namespace Condensa.Cli.Tests;

[TestClass]
public sealed class GenerateCommandTests
{
    [TestMethod]
    public async Task Generate_Greedy_StreamsTextThenStatsLine()
    {
        var checkpoint = CliRunner.Checkpoint();
        var (exit, output, error) = await CliRunner.Run("generate", "--model", checkpoint, "--prompt", "hello world", "--max-tokens", "12");
        Assert.AreEqual(0, exit, error);
        var lines = error.TrimEnd().Split('\n');
        StringAssert.StartsWith(lines[^1], "[prompt ");
        StringAssert.Contains(lines[^1], "generated 12 tokens");
        StringAssert.Contains(lines[^1], "decode ");
        StringAssert.Contains(lines[^1], "KV ");
        StringAssert.Contains(error, "exporting");
    }

    [TestMethod]
    public async Task Generate_StdoutHoldsOnlyTheText_FiguresOnStderr()
    {
        var checkpoint = CliRunner.Checkpoint();
        var text = await CliRunner.Run("generate", "--model", checkpoint, "--prompt", "hello world", "--max-tokens", "12");
        var json = await CliRunner.Run("generate", "--model", checkpoint, "--prompt", "hello world", "--max-tokens", "12", "--json");
        Assert.AreEqual(0, text.Exit, text.Error);

        // `generate ... > out.py` must capture exactly the completion (and its closing newline).
        Assert.AreEqual(Text(json.Output) + "\n", text.Output);
        Assert.DoesNotContain("[prompt ", text.Output);
        StringAssert.Contains(text.Error, "[prompt ");
    }

    [TestMethod]
    public async Task Generate_PromptFileAndStandardInput_SameTokensAsPrompt()
    {
        var checkpoint = CliRunner.Checkpoint();
        const string prompt = "def add(a, b):\n    return";
        var file = Path.Combine(Directory.CreateTempSubdirectory().FullName, "prompt.py");
        File.WriteAllText(file, prompt);

        var direct = await CliRunner.Run("generate", "--model", checkpoint, "--prompt", prompt, "--max-tokens", "6", "--json");
        var fromFile = await CliRunner.Run("generate", "--model", checkpoint, "--prompt-file", file, "--max-tokens", "6", "--json");
        var fromStdin = await CliRunner.RunWithInput(prompt, "generate", "--model", checkpoint, "--prompt-file", "-", "--max-tokens", "6", "--json");

        Assert.AreEqual(0, fromFile.Exit, fromFile.Error);
        Assert.AreEqual(0, fromStdin.Exit, fromStdin.Error);
        Assert.AreEqual(Tokens(direct.Output), Tokens(fromFile.Output));
        Assert.AreEqual(Tokens(direct.Output), Tokens(fromStdin.Output));
        Assert.AreEqual(JsonDocument.Parse(direct.Output).RootElement.GetProperty("prompt_tokens").GetInt32(),
            JsonDocument.Parse(fromFile.Output).RootElement.GetProperty("prompt_tokens").GetInt32());
    }

    [TestMethod]
    public async Task Generate_PromptFileNotUtf8_ErrorNamesTheFile()
    {
        var checkpoint = CliRunner.Checkpoint();
        var file = Path.Combine(Directory.CreateTempSubdirectory().FullName, "latin1.txt");
        File.WriteAllBytes(file, [(byte)'c', (byte)'a', (byte)'f', 0xE9, (byte)' ', (byte)'x']);   // "café x" in Latin-1

        var (exit, output, error) = await CliRunner.Run("generate", "--model", checkpoint, "--prompt-file", file, "--max-tokens", "2");

        Assert.AreEqual(1, exit);
        Assert.AreEqual("", output);
        Assert.AreEqual($"error: {file}: not valid UTF-8 (byte 3); save it as UTF-8.", error.Trim());
    }

    [TestMethod]
    public async Task Generate_PromptArgumentWithReplacementCharacter_SaysItIsNotUtf8()
    {
        // What .NET makes of an argument the shell passed in Latin-1: the byte becomes U+FFFD.
        var (exit, _, error) = await CliRunner.Run("generate", "--model", "no-such-model", "--prompt", "caf\uFFFD x");

        Assert.AreEqual(1, exit);
        Assert.AreEqual("error: --prompt is not valid UTF-8 (it holds U+FFFD); pass the text as UTF-8.", error.Trim());
    }

    [TestMethod]
    public async Task Generate_Json_FinishReasonIsLengthOrStop()
    {
        var checkpoint = CliRunner.Checkpoint();
        var (exit, output, error) = await CliRunner.Run("generate", "--model", checkpoint, "--prompt", "hi", "--max-tokens", "5", "--json");
        Assert.AreEqual(0, exit, error);
        var root = JsonDocument.Parse(output).RootElement;
        Assert.AreEqual("length", root.GetProperty("finish_reason").GetString());

        // Make the third greedy token the model's end-of-sequence token: the run stops there, for that reason.
        var third = root.GetProperty("tokens")[2].GetInt32();
        var config = Path.Combine(checkpoint, "config.json");
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(config))!;
        json["eos_token_id"] = third;
        File.WriteAllText(config, json.ToJsonString());
        var stopped = await CliRunner.Run("generate", "--model", checkpoint, "--prompt", "hi", "--max-tokens", "5", "--json");
        Assert.AreEqual(0, stopped.Exit, stopped.Error);
        var stop = JsonDocument.Parse(stopped.Output).RootElement;
        Assert.AreEqual("stop", stop.GetProperty("finish_reason").GetString());
        Assert.IsLessThanOrEqualTo(3, stop.GetProperty("tokens").GetArrayLength());
    }

    [TestMethod]
    [DataRow("--max-tokens", "0", "--max-tokens 0 must be at least 1.")]
    [DataRow("--max-tokens", "-1", "--max-tokens -1 must be at least 1.")]
    [DataRow("--top-p", "2", "--top-p 2 must be above 0 and at most 1.")]
    [DataRow("--temperature", "-0.5", "--temperature -0.5 must be at least 0.")]
    [DataRow("--top-k", "-3", "--top-k -3 must be at least 0.")]
    [DataRow("--repetition-penalty", "0", "--repetition-penalty 0 must be above 0.")]
    [DataRow("--threads", "0", "--threads 0 must be at least 1.")]
    [DataRow("--max-tokens", "abc", "--max-tokens 'abc' is not a whole number.")]
    [DataRow("--top-p", "x", "--top-p 'x' is not a number.")]
    [DataRow("--kv-residence", "gpu", "--kv-residence 'gpu' is not one of auto, host, device.")]
    public async Task Generate_BadOptionValue_OneLineInTheCliWords_BeforeLoadingAnything(string option, string value, string expected)
    {
        // The model does not exist: the option is checked first.
        var (exit, output, error) = await CliRunner.Run("generate", "--model", "no-such-model", "--prompt", "a", option, value);

        Assert.AreEqual(1, exit);
        Assert.AreEqual("", output);
        Assert.AreEqual($"error: {expected} (see 'condensa generate --help')", error.Trim());
    }

    [TestMethod]
    public async Task Generate_FolderThatDoesNotExist_SaysSo()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"condensa-missing-{Guid.NewGuid():N}");
        var (exit, _, error) = await CliRunner.Run("generate", "--model", missing, "--prompt", "a");

        Assert.AreEqual(1, exit);
        Assert.AreEqual($"error: --model {missing}: folder does not exist.", error.Trim());
    }

    [TestMethod]
    [DataRow("num_hidden_layers", -1, "field 'num_hidden_layers' should be at least 1, got -1.")]
    [DataRow("num_attention_heads", 0, "field 'num_attention_heads' should be at least 1, got 0.")]
    [DataRow("num_attention_heads", 3, "hidden_size 64 is not a multiple of num_attention_heads 3")]
    [DataRow("vocab_size", 0, "field 'vocab_size' should be at least 1, got 0.")]
    public async Task Generate_BadConfigValue_OneLineNamingConfigJsonAndField(string field, int value, string expected)
    {
        var checkpoint = CliRunner.Checkpoint();
        var config = Path.Combine(checkpoint, "config.json");
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(config))!.AsObject();
        json[field] = value;
        json.Remove("head_dim");   // derived from hidden_size / num_attention_heads, as in most checkpoints
        File.WriteAllText(config, json.ToJsonString());

        var (exit, _, error) = await CliRunner.Run("generate", "--model", checkpoint, "--prompt", "a");

        Assert.AreEqual(1, exit);
        var errors = error.Split('\n').Where(l => l.StartsWith("error:", StringComparison.Ordinal)).ToList();
        Assert.HasCount(1, errors, error);
        StringAssert.Contains(errors[0], config);
        StringAssert.Contains(errors[0], expected);
    }

    [TestMethod]
    public async Task Generate_SecondRun_ReusesExportAndRepeatsGreedyText()
    {
        var checkpoint = CliRunner.Checkpoint();
        var first = await CliRunner.Run("generate", "--model", checkpoint, "--prompt", "abc", "--max-tokens", "10", "--json");
        var second = await CliRunner.Run("generate", "--model", checkpoint, "--prompt", "abc", "--max-tokens", "10", "--json");
        Assert.AreEqual(0, second.Exit, second.Error);
        Assert.DoesNotContain("exporting", second.Error);
        Assert.AreEqual(Tokens(first.Output), Tokens(second.Output));
    }

    [TestMethod]
    public async Task Generate_SameSeed_SameText_OtherSeed_OtherText()
    {
        var checkpoint = CliRunner.Checkpoint();
        string[] Args(string seed) => ["generate", "--model", checkpoint, "--prompt", "x = ", "--max-tokens", "20", "--temperature", "1.3",
            "--top-p", "0.95", "--seed", seed, "--json"];
        var a = await CliRunner.Run(Args("7"));
        var b = await CliRunner.Run(Args("7"));
        var c = await CliRunner.Run(Args("8"));
        Assert.AreEqual(0, a.Exit, a.Error);
        Assert.AreEqual(Tokens(a.Output), Tokens(b.Output));
        Assert.AreEqual(Text(a.Output), Text(b.Output));
        Assert.AreNotEqual(Tokens(a.Output), Tokens(c.Output));
    }

    [TestMethod]
    public async Task Generate_Json_HasFiguresAndTokenIds()
    {
        var checkpoint = CliRunner.Checkpoint();
        var (exit, output, error) = await CliRunner.Run("generate", "--model", checkpoint, "--prompt", "hi", "--max-tokens", "5", "--json");
        Assert.AreEqual(0, exit, error);
        using var json = JsonDocument.Parse(output);
        var root = json.RootElement;
        Assert.AreEqual(5, root.GetProperty("tokens").GetArrayLength());
        Assert.AreEqual(5, root.GetProperty("generated_tokens").GetInt32());
        Assert.IsGreaterThan(0, root.GetProperty("prompt_tokens").GetInt32());
        Assert.IsGreaterThan(0L, root.GetProperty("kv_bytes").GetInt64());
        Assert.AreEqual(root.GetProperty("kv_bytes_per_token").GetInt64(), root.GetProperty("standard_kv_bytes_per_token").GetInt64());
    }

    [TestMethod]
    public async Task Generate_MissingConfig_NamesConfigJson()
    {
        var checkpoint = CliRunner.Checkpoint();
        File.Delete(Path.Combine(checkpoint, "config.json"));
        File.WriteAllText(Path.Combine(checkpoint, "README"), "not a model");
        var (exit, _, error) = await CliRunner.Run("generate", "--model", checkpoint, "--prompt", "a");
        Assert.AreEqual(1, exit);
        StringAssert.StartsWith(error, "error: ");
        StringAssert.Contains(error, "config.json");
    }

    [TestMethod]
    public async Task Generate_MissingWeights_NamesSafetensors()
    {
        var checkpoint = CliRunner.Checkpoint();
        File.Delete(Path.Combine(checkpoint, "model.safetensors"));
        var (exit, _, error) = await CliRunner.Run("generate", "--model", checkpoint, "--prompt", "a");
        Assert.AreEqual(1, exit);
        StringAssert.Contains(error, "safetensors");
    }

    [TestMethod]
    public async Task Generate_UnsupportedArchitecture_NamesIt()
    {
        var checkpoint = CliRunner.Checkpoint();
        var config = Path.Combine(checkpoint, "config.json");
        File.WriteAllText(config, File.ReadAllText(config).Replace("LlamaForCausalLM", "GPTNeoXForCausalLM"));
        var (exit, _, error) = await CliRunner.Run("generate", "--model", checkpoint, "--prompt", "a");
        Assert.AreEqual(1, exit);
        StringAssert.Contains(error, "GPTNeoXForCausalLM");
    }

    [TestMethod]
    public async Task Generate_TensorShapeMismatch_NamesTensor()
    {
        var checkpoint = CliRunner.Checkpoint();
        var config = Path.Combine(checkpoint, "config.json");
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(config))!;
        json["intermediate_size"] = json["intermediate_size"]!.GetValue<int>() + 8;
        File.WriteAllText(config, json.ToJsonString());
        var (exit, _, error) = await CliRunner.Run("generate", "--model", checkpoint, "--prompt", "a");
        Assert.AreEqual(1, exit);
        StringAssert.Contains(error, "mlp");
    }

    [TestMethod]
    public async Task Generate_PromptLongerThanContext_SaysContextOverflow()
    {
        var checkpoint = CliRunner.Checkpoint(new TinyModelSpec { Architecture = "llama", MaxPositionEmbeddings = 32, Seed = 5 });
        var (exit, _, error) = await CliRunner.Run("generate", "--model", checkpoint, "--prompt", new string('z', 200), "--max-tokens", "4");
        Assert.AreEqual(1, exit);
        StringAssert.Contains(error, "Context overflow");
    }

    [TestMethod]
    public async Task Generate_UnknownCatalogName_ListsKnownNames()
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        var catalog = Path.Combine(dir, "models.json");
        File.WriteAllText(catalog, """{ "models": [ { "name": "tiny", "checkpoint": "tiny" } ] }""");
        var (exit, _, error) = await CliRunner.Run("generate", "--model", "nope", "--catalog", catalog, "--prompt", "a");
        Assert.AreEqual(1, exit);
        StringAssert.Contains(error, "tiny");
    }

    private static string Tokens(string json) => JsonDocument.Parse(json).RootElement.GetProperty("tokens").GetRawText();

    private static string Text(string json) => JsonDocument.Parse(json).RootElement.GetProperty("text").GetString()!;
}
