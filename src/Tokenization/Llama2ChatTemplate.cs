using System.Text;

namespace Condensa.Tokenization;

/// <summary>
/// Llama 2 chat (meta-llama/Llama-2-7b-chat-hf): <c>&lt;s&gt;[INST] &lt;&lt;SYS&gt;&gt;\n{system}\n&lt;&lt;/SYS&gt;&gt;\n\n{user} [/INST] {assistant} &lt;/s&gt;</c>.
/// The published template has no generation prompt: the prompt ends with " [/INST]" either way.
/// </summary>
internal sealed class Llama2ChatTemplate : ChatTemplate
{
    public Llama2ChatTemplate(string bosToken, string eosToken) : base("llama2", bosToken, eosToken) { }

    private protected override void RenderCore(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt, StringBuilder output)
    {
        var (system, turns) = SplitSystem(messages, Name);
        for (int i = 0; i < turns.Count; i++)
        {
            string content = i == 0 && system is not null
                ? "<<SYS>>\n" + system + "\n<</SYS>>\n\n" + turns[i].Content
                : turns[i].Content;
            if (turns[i].Role == "user")
                output.Append(BosToken).Append("[INST] ").Append(Strip(content)).Append(" [/INST]");
            else
                output.Append(' ').Append(Strip(content)).Append(' ').Append(EosToken);
        }
    }
}
