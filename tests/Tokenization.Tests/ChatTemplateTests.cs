using System.Text.Json.Nodes;

namespace Condensa.Tokenization.Tests;

[TestClass]
public sealed class ChatTemplateTests
{
    private static readonly Lazy<JsonObject> Golden = new(() => (JsonObject)JsonNode.Parse(
        File.ReadAllText(Path.Combine(GoldenFiles.Dir("chat"), "golden.json")))!);

    private static IReadOnlyList<ChatMessage> Conversation(string name) =>
        Golden.Value["conversations"]![name]!.AsArray()
            .Select(m => new ChatMessage((string)m!["role"]!, (string)m["content"]!)).ToList();

    [TestMethod]
    [DataRow("llama2")]
    [DataRow("llama3")]
    [DataRow("mistral")]
    [DataRow("chatml")]
    [DataRow("zephyr")]
    [DataRow("phi3")]
    [DataRow("gemma")]
    public void Render_GoldenConversations_EqualsApplyChatTemplate(string family)
    {
        var template = ChatTemplate.ForCheckpoint(Path.Combine(GoldenFiles.Dir("chat"), family));
        Assert.AreEqual(family, template.Name);
        int cases = 0;
        foreach (var c in Golden.Value["families"]![family]!["cases"]!.AsArray())
        {
            Assert.AreEqual("transformers.apply_chat_template", (string?)c!["renderer"]);
            var messages = Conversation((string)c["conversation"]!);
            bool addGenerationPrompt = (bool)c["add_generation_prompt"]!;
            Assert.AreEqual((string)c["rendered"]!, template.Render(messages, addGenerationPrompt),
                            $"{family} {(string)c["conversation"]!} add_generation_prompt={addGenerationPrompt}");
            cases++;
        }
        Assert.AreEqual(6, cases);
    }

    [TestMethod]
    [DataRow("llama2", "<s>[INST] And 3+3? [/INST]")]
    [DataRow("llama3", "<|start_header_id|>user<|end_header_id|>\n\nAnd 3+3?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n")]
    [DataRow("chatml", "<|im_start|>user\nAnd 3+3?<|im_end|>\n<|im_start|>assistant\n")]
    [DataRow("zephyr", "<|user|>\nAnd 3+3?</s>\n<|assistant|>\n")]
    [DataRow("gemma", "<start_of_turn>user\nAnd 3+3?<end_of_turn>\n<start_of_turn>model\n")]
    public void RenderContinuation_NewUserTurn_AppendedToHistoryEqualsGoldenFullRender(string family, string expected)
    {
        var template = ChatTemplate.ForCheckpoint(Path.Combine(GoldenFiles.Dir("chat"), family));
        var conversation = Conversation("system_user_assistant_user");
        var history = conversation.Take(3).ToList();
        string suffix = template.RenderContinuation(history, conversation[3]);
        Assert.AreEqual(expected, suffix);
        string golden = (string)Golden.Value["families"]![family]!["cases"]!.AsArray()
            .First(c => (string)c!["conversation"]! == "system_user_assistant_user" && (bool)c["add_generation_prompt"]!)!["rendered"]!;
        Assert.AreEqual(golden, template.Render(history, addGenerationPrompt: false) + suffix);
    }

    [TestMethod]
    public void RenderContinuation_MistralWithSystemMessage_ThrowsNotSupported()
    {
        var template = ChatTemplate.Create("mistral");
        var conversation = Conversation("system_user_assistant_user");
        Assert.IsFalse(template.TryRenderContinuation(conversation.Take(3).ToList(), conversation[3], out _));
        Assert.ThrowsExactly<NotSupportedException>(() => template.RenderContinuation(conversation.Take(3).ToList(), conversation[3]));
    }

    [TestMethod]
    public void RenderContinuation_MistralWithoutSystemMessage_AppendsTurn()
    {
        var template = ChatTemplate.Create("mistral");
        var history = new[] { ChatMessage.User("Hi"), ChatMessage.Assistant("Hello") };
        Assert.AreEqual("[INST] More[/INST]", template.RenderContinuation(history, ChatMessage.User("More")));
    }

    [TestMethod]
    [DataRow("llama2")]
    [DataRow("llama3")]
    [DataRow("mistral")]
    [DataRow("chatml")]
    [DataRow("zephyr")]
    [DataRow("phi3")]
    [DataRow("gemma")]
    public void Recognize_PublishedJinjaTemplate_ReturnsFamily(string family)
    {
        var config = (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(GoldenFiles.Dir("chat"), family, "tokenizer_config.json")))!;
        Assert.AreEqual(family, ChatTemplate.Recognize((string)config["chat_template"]!));
    }

    [TestMethod]
    [DataRow("qwen2_bpe", "Qwen2ForCausalLM", "chatml")]
    [DataRow("llama3_bpe", "LlamaForCausalLM", "llama3")]
    [DataRow("sp_llama2", "LlamaForCausalLM", "llama2")]
    [DataRow("sp_llama2", "MistralForCausalLM", "mistral")]
    public void ForCheckpoint_NoChatTemplate_ChoosesByArchitecture(string folder, string architecture, string expected)
    {
        var template = ChatTemplate.ForCheckpoint(GoldenFiles.Dir(folder), architecture);
        Assert.AreEqual(expected, template.Name);
    }

    [TestMethod]
    public void ForCheckpoint_ChatMLTemplateWithoutDefaultSystem_AddsNone()
    {
        // Qwen3's template is ChatML with no default system message; Qwen2's (the chat/chatml folder) inserts one
        using var temp = GoldenFiles.Temp();
        temp.File("tokenizer_config.json", "{ \"eos_token\": \"<|im_end|>\", \"chat_template\": \"{%- for message in messages %}{{- '<|im_start|>' + " +
            "message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}\" }");
        ChatMessage[] conversation = [ChatMessage.User("Hi")];

        var plain = ChatTemplate.ForCheckpoint(temp.Path).Render(conversation, addGenerationPrompt: true);
        var qwen2 = ChatTemplate.ForCheckpoint(Path.Combine(GoldenFiles.Dir("chat"), "chatml")).Render(conversation, addGenerationPrompt: true);

        Assert.AreEqual("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", plain);
        StringAssert.StartsWith(qwen2, "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n");
    }

    [TestMethod]
    public void ForCheckpoint_Override_WinsOverConfigTemplate()
    {
        var template = ChatTemplate.ForCheckpoint(Path.Combine(GoldenFiles.Dir("chat"), "llama3"), overrideName: "chatml");
        Assert.AreEqual("chatml", template.Name);
        Assert.AreEqual("<|eot_id|>", template.EosToken);
    }

    [TestMethod]
    public void ForCheckpoint_ArchitectureFromConfigJson_IsUsed()
    {
        using var temp = GoldenFiles.Temp();
        temp.File("config.json", "{ \"architectures\": [\"Qwen2ForCausalLM\"] }");
        Assert.AreEqual("chatml", ChatTemplate.ForCheckpoint(temp.Path).Name);
    }

    [TestMethod]
    public void ForCheckpoint_UnknownTemplateAndArchitecture_ThrowsNamingBoth()
    {
        using var temp = GoldenFiles.Temp();
        temp.File("tokenizer_config.json", "{ \"chat_template\": \"{{ messages[0]['content'] }}\" }");
        var e = Assert.ThrowsExactly<TokenizerLoadException>(() => ChatTemplate.ForCheckpoint(temp.Path, "GPTNeoXForCausalLM"));
        StringAssert.Contains(e.Message, "GPTNeoXForCausalLM");
        StringAssert.Contains(e.Message, "chat_template");
    }

    [TestMethod]
    public void Create_UnknownName_ThrowsArgumentException()
    {
        var e = Assert.ThrowsExactly<ArgumentException>(() => ChatTemplate.Create("vicuna"));
        Assert.AreEqual("name", e.ParamName);
    }

    [TestMethod]
    [DataRow("llama2")]
    [DataRow("mistral")]
    public void Render_RolesNotAlternating_ThrowsArgumentException(string family)
    {
        var template = ChatTemplate.Create(family);
        Assert.ThrowsExactly<ArgumentException>(() => template.Render([ChatMessage.User("a"), ChatMessage.User("b")], true));
    }

    [TestMethod]
    public void Render_TokenizedChatMLPrompt_SpecialTokensBecomeIds()
    {
        var tokenizer = TokenizerFactory.FromCheckpoint(GoldenFiles.Dir("qwen2_bpe"));
        string prompt = ChatTemplate.Create("chatml").Render([ChatMessage.User("hi")], addGenerationPrompt: true);
        var ids = tokenizer.Encode(prompt);
        Assert.AreEqual(3, ids.Count(id => id == tokenizer.AddedTokens["<|im_start|>"]));
        Assert.AreEqual(prompt, tokenizer.Decode(ids, skipSpecialTokens: false));
    }
}
