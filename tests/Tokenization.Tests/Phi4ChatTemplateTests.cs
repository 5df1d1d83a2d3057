namespace Condensa.Tokenization.Tests;

/// <summary>
/// Phi-4-mini's template against strings derived by hand from the template microsoft/Phi-4-mini-instruct publishes:
/// <c>'&lt;|' + message['role'] + '|&gt;' + message['content'] + '&lt;|end|&gt;'</c> per message, then
/// <c>'&lt;|assistant|&gt;'</c> or eos_token.
/// </summary>
[TestClass]
public sealed class Phi4ChatTemplateTests
{
    private const string Published =
        "{% for message in messages %}{% if message['role'] == 'system' and 'tools' in message and message['tools'] is not none %}" +
        "{{ '<|' + message['role'] + '|>' + message['content'] + '<|tool|>' + message['tools'] + '<|/tool|>' + '<|end|>' }}" +
        "{% else %}{{ '<|' + message['role'] + '|>' + message['content'] + '<|end|>' }}{% endif %}{% endfor %}" +
        "{% if add_generation_prompt %}{{ '<|assistant|>' }}{% else %}{{ eos_token }}{% endif %}";

    private static readonly ChatMessage[] Conversation =
    [
        ChatMessage.System("You are a helpful assistant."),
        ChatMessage.User("Hello! What is 2+2?"),
        ChatMessage.Assistant(" 2+2 equals 4.\n"),
        ChatMessage.User("And 3+3?"),
    ];

    [TestMethod]
    public void Render_Conversation_NoNewlinesAndContentUntrimmed()
    {
        const string expected = "<|system|>You are a helpful assistant.<|end|><|user|>Hello! What is 2+2?<|end|>" +
                                "<|assistant|> 2+2 equals 4.\n<|end|><|user|>And 3+3?<|end|><|assistant|>";

        Assert.AreEqual(expected, ChatTemplate.Create("phi4").Render(Conversation, addGenerationPrompt: true));
    }

    [TestMethod]
    public void Render_NoGenerationPrompt_EndsWithEosToken()
    {
        string text = ChatTemplate.Create("phi4").Render([ChatMessage.User("Hi")], addGenerationPrompt: false);

        Assert.AreEqual("<|user|>Hi<|end|><|endoftext|>", text);
    }

    [TestMethod]
    public void TryRenderContinuation_AfterAnAssistantTurn_IsFalse()
    {
        // without a generation prompt the template ends with eos_token, which the next render does not have (as Phi-3's)
        var history = Conversation.Take(3).ToList();

        Assert.IsFalse(ChatTemplate.Create("phi4").TryRenderContinuation(history, Conversation[3], out _));
    }

    [TestMethod]
    public void Recognize_PublishedPhi4MiniTemplate_ReturnsPhi4()
    {
        Assert.AreEqual("phi4", ChatTemplate.Recognize(Published));
    }
}
