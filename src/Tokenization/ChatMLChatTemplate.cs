using System.Text;

namespace Condensa.Tokenization;

/// <summary>
/// ChatML as Qwen2 instruct publishes it (Qwen/Qwen2-7B-Instruct): <c>&lt;|im_start|&gt;{role}\n{content}&lt;|im_end|&gt;\n</c>
/// per message, with a default system message when the conversation has none. A checkpoint whose own ChatML template
/// has no default (Qwen3's) gets none.
/// </summary>
internal sealed class ChatMLChatTemplate : ChatTemplate
{
    /// <summary>The system message Qwen2's template inserts when the conversation opens without one.</summary>
    public const string DefaultSystemMessage = "You are a helpful assistant.";

    private readonly bool _defaultSystem;

    public ChatMLChatTemplate(string bosToken, string eosToken, bool defaultSystem = true) : base("chatml", bosToken, eosToken) =>
        _defaultSystem = defaultSystem;

    private protected override void RenderCore(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt, StringBuilder output)
    {
        for (int i = 0; i < messages.Count; i++)
        {
            if (i == 0 && _defaultSystem && messages[0].Role != "system")
                output.Append("<|im_start|>system\n").Append(DefaultSystemMessage).Append("<|im_end|>\n");
            output.Append("<|im_start|>").Append(messages[i].Role).Append('\n').Append(messages[i].Content).Append("<|im_end|>\n");
        }
        if (addGenerationPrompt)
            output.Append("<|im_start|>assistant\n");
    }
}
