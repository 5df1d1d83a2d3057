using System.Text.Json.Nodes;
using Condensa.TestSupport;
using Condensa.Tokenization;

namespace Condensa.Cli.Tests;

/// <summary>
/// Tiny random Qwen3, Phi-4-mini (Phi3ForCausalLM), Gemma 2 and Gemma 3 checkpoints over family-style tokenizers (byte-level
/// BPE with the family's regex and special tokens; SentencePiece for Gemma) and the family's published chat_template, made
/// on the GPU machine by tools/tokenizers/make_family_e2e_golden.py into tests/TestData/golden/family_e2e/&lt;family&gt;/.
/// For each prompt text <c>condensa generate</c> must encode it as the tokenizer file's library does and continue it as
/// transformers did; for each conversation Condensa's chat template must render transformers' apply_chat_template text,
/// and generating from it must continue it the same.
/// </summary>
[TestClass]
public sealed class FamilyEndToEndTests
{
    private const string Missing = "(family_e2e missing)";

    /// <summary>The families make_family_e2e_golden.py writes.</summary>
    private static readonly string[] Families = ["gemma2", "gemma3", "phi3", "qwen3"];

    private static string Fixtures => Path.Combine(RepositoryPaths.TestData, "golden", "family_e2e");

    private static string MissingMessage =>
        $"{Fixtures} is missing: run `python3 tools/tokenizers/make_family_e2e_golden.py $OUT/family_e2e` on the GPU machine " +
        "and copy its family folders there (tools/tokenizers/README.md).";

    public static IEnumerable<object[]> Cases => Directory.Exists(Fixtures)
        ? Directory.GetDirectories(Fixtures).Select(Path.GetFileName).Order().Select(n => new object[] { n! })
        : [[Missing]];

    [TestMethod]
    public void Fixtures_EveryFamily_HasAFolder()
    {
        Assert.IsTrue(Directory.Exists(Fixtures), MissingMessage);
        foreach (var family in Families)
        {
            foreach (var file in new[] { "config.json", "generation_config.json", "model.safetensors", "tokenizer_config.json", "e2e.json" })
                Assert.IsTrue(File.Exists(Path.Combine(Fixtures, family, file)), $"{Path.Combine(Fixtures, family, file)} is missing. {MissingMessage}");
        }
    }

    [TestMethod]
    [DynamicData(nameof(Cases))]
    public async Task Generate_FamilyCheckpoint_IdsAndGreedyContinuationEqualTransformers(string family)
    {
        var (checkpoint, golden) = Load(family);
        var tokenizer = TokenizerFactory.FromCheckpoint(checkpoint);
        var rows = golden["rows"]!.AsArray();
        Assert.IsGreaterThan(2, rows.Count);

        foreach (var row in rows)
        {
            var text = (string)row!["text"]!;
            var what = $"{family}: {JsonValue.Create(text)}";
            CollectionAssert.AreEqual(Ids(row["prompt_ids"]), tokenizer.Encode(text, addBos: true).ToArray(), $"{what}: ids");
            CollectionAssert.AreEqual(Ids(row["continuation"]), await Generate(checkpoint, text, golden), $"{what}: continuation");
        }
    }

    [TestMethod]
    [DynamicData(nameof(Cases))]
    public async Task ChatTemplate_FamilyConversation_RendersAsTransformersAndContinuesTheSame(string family)
    {
        var (checkpoint, golden) = Load(family);
        var tokenizer = TokenizerFactory.FromCheckpoint(checkpoint);
        bool addsBos = tokenizer.Encode("", addBos: true).Count > 0;
        var chats = golden["chats"]!.AsArray();
        Assert.IsGreaterThan(0, chats.Count);

        foreach (var chat in chats)
        {
            var what = $"{family} chat '{(string)chat!["name"]!}'";
            List<ChatMessage> messages = [.. chat["messages"]!.AsArray().Select(m => new ChatMessage((string)m!["role"]!, (string)m["content"]!))];
            bool thinking = chat["enable_thinking"] is not JsonValue v || v.GetValue<bool>();
            var template = ChatTemplate.ForCheckpoint(checkpoint, thinking: thinking);
            var rendered = (string)chat["rendered"]!;
            int[] ids = Ids(chat["prompt_ids"]);

            // 1) the template renders what apply_chat_template did, and it encodes to the same ids (special tokens as text)
            Assert.AreEqual(rendered, template.Render(messages, addGenerationPrompt: true), $"{what}: rendered by template '{template.Name}'");
            CollectionAssert.AreEqual(ids, tokenizer.Encode(rendered, addBos: false).ToArray(), $"{what}: ids");

            // 2) generate prepends the BOS itself where the tokenizer adds one, so the rendered text goes without its own
            var prompt = addsBos && template.BosToken.Length > 0 && rendered.StartsWith(template.BosToken, StringComparison.Ordinal)
                ? rendered[template.BosToken.Length..]
                : rendered;
            CollectionAssert.AreEqual(ids, tokenizer.Encode(prompt, addBos: true).ToArray(), $"{what}: ids of the prompt given to generate");
            CollectionAssert.AreEqual(Ids(chat["continuation"]), await Generate(checkpoint, prompt, golden), $"{what}: continuation");
        }
    }

    /// <summary>The family's checkpoint copied to a folder of its own, and its e2e.json.</summary>
    private static (string Checkpoint, JsonNode Golden) Load(string family)
    {
        Assert.AreNotEqual(Missing, family, MissingMessage);
        var source = Path.Combine(Fixtures, family);
        var checkpoint = Directory.CreateTempSubdirectory($"condensa-family-e2e-{family}-").FullName;
        foreach (var file in Directory.GetFiles(source))
            File.Copy(file, Path.Combine(checkpoint, Path.GetFileName(file)));
        return (checkpoint, JsonNode.Parse(File.ReadAllText(Path.Combine(source, "e2e.json")))!);
    }

    private static async Task<int[]> Generate(string checkpoint, string prompt, JsonNode golden)
    {
        var (exit, output, error) = await CliRunner.Run("generate", "--model", checkpoint, "--prompt", prompt, "--max-tokens",
            ((int)golden["new_tokens"]!).ToString(), "--temperature", "0", "--json");
        Assert.AreEqual(0, exit, error);
        return Ids(JsonNode.Parse(output)!["tokens"]);
    }

    private static int[] Ids(JsonNode? array) => [.. array!.AsArray().Select(x => (int)x!)];
}
