using System.Text;

namespace Condensa.Tokenization;

/// <summary>
/// Zephyr format as TinyLlama chat publishes it (TinyLlama/TinyLlama-1.1B-Chat-v1.0):
/// <c>&lt;|{role}|&gt;\n{content}&lt;/s&gt;\n</c> per message, <c>&lt;|assistant|&gt;\n</c> as the generation prompt.
/// </summary>
internal sealed class ZephyrChatTemplate : ChatTemplate
{
    public ZephyrChatTemplate(string bosToken, string eosToken) : base("zephyr", bosToken, eosToken) { }

    private protected override void RenderCore(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt, StringBuilder output)
    {
        for (int i = 0; i < messages.Count; i++)
        {
            if (messages[i].Role is "user" or "system" or "assistant")
                output.Append("<|").Append(messages[i].Role).Append("|>\n").Append(messages[i].Content).Append(EosToken).Append('\n');
            if (i == messages.Count - 1 && addGenerationPrompt)
                output.Append("<|assistant|>\n");
        }
    }
}
