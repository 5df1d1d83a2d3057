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
        var lines = output.TrimEnd().Split('\n');
        StringAssert.StartsWith(lines[^1], "[prompt ");
        StringAssert.Contains(lines[^1], "generated 12 tokens");
        StringAssert.Contains(lines[^1], "decode ");
        StringAssert.Contains(lines[^1], "KV ");
        StringAssert.Contains(error, "exporting");
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
