namespace Condensa.Tokenization.Tests;

/// <summary>
/// Qwen3's template against strings derived by hand from the template Qwen/Qwen3-8B publishes (the same Jinja as
/// tools/tokenizers/make_family_e2e_golden.py's QWEN3_TEMPLATE; each expected string was also rendered with jinja2 as
/// transformers sets it up). The rule each case exercises is named above it.
/// </summary>
[TestClass]
public sealed class Qwen3ChatTemplateTests
{
    // The parts of the published template that Recognize and ForCheckpoint look at.
    private const string PublishedExcerpt =
        "{%- for message in messages %}{{- '<|im_start|>' + message.role + '\\n' }}{%- set reasoning_content = " +
        "content.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') %}{%- endfor %}{%- if add_generation_prompt %}" +
        "{{- '<|im_start|>assistant\\n' }}{%- if enable_thinking is defined and enable_thinking is false %}{{- '<think>\\n\\n</think>\\n\\n' }}" +
        "{%- endif %}{%- endif %}";

    private static readonly ChatMessage[] Conversation =
    [
        ChatMessage.System("You are a helpful assistant."),
        ChatMessage.User("Hello! What is 2+2?"),
        ChatMessage.Assistant("<think>\nThe user asks for a sum.\n</think>\n\n2+2 equals 4."),
        ChatMessage.User("And 3+3?"),
    ];

    [TestMethod]
    public void Render_ReasoningBeforeLastUserTurn_IsDropped()
    {
        // messages[0] system -> "<|im_start|>system\n...<|im_end|>\n", no default system message; the assistant turn
        // precedes last_query_index, so only content.split('</think>')[-1].lstrip('\n') is written
        const string expected =
            "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n" +
            "<|im_start|>user\nHello! What is 2+2?<|im_end|>\n" +
            "<|im_start|>assistant\n2+2 equals 4.<|im_end|>\n" +
            "<|im_start|>user\nAnd 3+3?<|im_end|>\n" +
            "<|im_start|>assistant\n";

        Assert.AreEqual(expected, ChatTemplate.Create("qwen3").Render(Conversation, addGenerationPrompt: true));
    }

    [TestMethod]
    public void Render_ThinkingOff_GenerationPromptEndsWithEmptyThinkBlock()
    {
        // add_generation_prompt with enable_thinking false -> '<|im_start|>assistant\n' + '<think>\n\n</think>\n\n'
        string prompt = ChatTemplate.Create("qwen3", thinking: false).Render([ChatMessage.User("Hi")], addGenerationPrompt: true);

        Assert.AreEqual("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n", prompt);
    }

    [TestMethod]
    public void Render_ThinkingOn_GenerationPromptIsPlain()
    {
        // enable_thinking undefined (the template's default: thinking) -> nothing after '<|im_start|>assistant\n'
        string prompt = ChatTemplate.Create("qwen3").Render([ChatMessage.User("Hi")], addGenerationPrompt: true);

        Assert.AreEqual("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", prompt);
    }

    [TestMethod]
    [DataRow("<think>\nr\n</think>\n\nanswer", "<think>\nr\n</think>\n\nanswer")]
    // loop.last after the last query: the think block is written even when the reasoning is empty
    [DataRow("answer", "<think>\n\n</think>\n\nanswer")]
    // reasoning: before the first </think>, rstrip('\n'), after the last <think>, lstrip('\n'), then strip('\n');
    // reply: after the last </think>, lstrip('\n')
    [DataRow("\n\n<think>\n\nfirst\n</think>\n</think>\n\nanswer\n", "<think>\nfirst\n</think>\n\nanswer\n")]
    public void Render_LastAssistantTurn_KeepsReasoningBlock(string content, string written)
    {
        ChatMessage[] messages = [ChatMessage.User("Hi"), ChatMessage.Assistant(content)];

        string text = ChatTemplate.Create("qwen3").Render(messages, addGenerationPrompt: false);

        Assert.AreEqual("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n" + written + "<|im_end|>\n", text);
    }

    [TestMethod]
    public void Render_ToolTurnsAfterLastQuery_ReasoningKeptAndResponsesGrouped()
    {
        // an assistant turn after last_query_index with reasoning keeps it (not loop.last and reasoning_content); consecutive
        // tool messages share one user turn, each wrapped in <tool_response>
        ChatMessage[] messages =
        [
            ChatMessage.User("Weather?"),
            ChatMessage.Assistant("<think>\nplan\n</think>\n\nCalling."),
            new("tool", "{\"t\": 20}"),
            new("tool", "sunny"),
        ];
        const string expected =
            "<|im_start|>user\nWeather?<|im_end|>\n" +
            "<|im_start|>assistant\n<think>\nplan\n</think>\n\nCalling.<|im_end|>\n" +
            "<|im_start|>user\n<tool_response>\n{\"t\": 20}\n</tool_response>\n<tool_response>\nsunny\n</tool_response><|im_end|>\n" +
            "<|im_start|>assistant\n";

        Assert.AreEqual(expected, ChatTemplate.Create("qwen3").Render(messages, addGenerationPrompt: true));
    }

    [TestMethod]
    public void Render_UserTurnThatIsAToolResponse_IsNotTheLastQuery()
    {
        // last_query_index skips user messages wrapped in <tool_response>…</tool_response>: the assistant turn after the
        // real query keeps its reasoning
        ChatMessage[] messages =
        [
            ChatMessage.User("Q"),
            ChatMessage.Assistant("<think>r</think>a"),
            ChatMessage.User("<tool_response>x</tool_response>"),
        ];

        string text = ChatTemplate.Create("qwen3").Render(messages, addGenerationPrompt: false);

        Assert.AreEqual("<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n<think>\nr\n</think>\n\na<|im_end|>\n" +
                        "<|im_start|>user\n<tool_response>x</tool_response><|im_end|>\n", text);
    }

    [TestMethod]
    public void Render_LaterSystemMessage_WrittenAsATurn()
    {
        // (message.role == "system" and not loop.first) -> written in place like a user turn
        ChatMessage[] messages = [ChatMessage.System("S"), ChatMessage.User("Hi"), ChatMessage.System("S2")];

        string text = ChatTemplate.Create("qwen3").Render(messages, addGenerationPrompt: false);

        Assert.AreEqual("<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>system\nS2<|im_end|>\n", text);
    }

    [TestMethod]
    public void TryRenderContinuation_AfterAnAssistantTurn_IsFalse()
    {
        // the last reply is written with its think block until the next user turn drops it: earlier text changes
        ChatMessage[] history = [ChatMessage.User("Hi"), ChatMessage.Assistant("answer")];

        Assert.IsFalse(ChatTemplate.Create("qwen3").TryRenderContinuation(history, ChatMessage.User("More"), out _));
    }

    [TestMethod]
    public void Recognize_PublishedQwen3Template_ReturnsQwen3()
    {
        Assert.AreEqual("qwen3", ChatTemplate.Recognize(PublishedExcerpt));
    }

    [TestMethod]
    public void ForCheckpoint_ThinkingOff_TemplateWritesEmptyThinkBlock()
    {
        using var temp = GoldenFiles.Temp();
        temp.File("tokenizer_config.json", $"{{ \"eos_token\": \"<|im_end|>\", \"chat_template\": {System.Text.Json.JsonSerializer.Serialize(PublishedExcerpt)} }}");

        var template = ChatTemplate.ForCheckpoint(temp.Path, thinking: false);

        Assert.AreEqual("qwen3", template.Name);
        StringAssert.EndsWith(template.Render([ChatMessage.User("Hi")], addGenerationPrompt: true), "<|im_start|>assistant\n<think>\n\n</think>\n\n");
    }

    [TestMethod]
    public void ForCheckpoint_TemplateWithoutThinkingSwitch_IgnoresThinkingOff()
    {
        // Qwen3-2507 Instruct: reasoning handling in the history, but no enable_thinking; transformers ignores the argument
        using var temp = GoldenFiles.Temp();
        temp.File("tokenizer_config.json", $"{{ \"chat_template\": {System.Text.Json.JsonSerializer.Serialize(PublishedExcerpt.Replace("enable_thinking", "other"))} }}");

        var template = ChatTemplate.ForCheckpoint(temp.Path, thinking: false);

        Assert.AreEqual("qwen3", template.Name);
        StringAssert.EndsWith(template.Render([ChatMessage.User("Hi")], addGenerationPrompt: true), "<|im_start|>assistant\n");
    }

    [TestMethod]
    public void ForCheckpoint_Qwen3ArchitectureWithoutTemplate_ChoosesQwen3()
    {
        using var temp = GoldenFiles.Temp();
        temp.File("config.json", "{ \"architectures\": [\"Qwen3ForCausalLM\"] }");

        Assert.AreEqual("qwen3", ChatTemplate.ForCheckpoint(temp.Path).Name);
    }
}
