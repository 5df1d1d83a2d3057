using System.Text;

namespace Condensa.Tokenization;

/// <summary>
/// Mistral instruct v0.3 (mistralai/Mistral-7B-Instruct-v0.3): <c>&lt;s&gt;[INST] {user}[/INST] {assistant}&lt;/s&gt;</c>.
/// A system message is written into the last user turn only (<c>[INST] {system}\n\n{user}[/INST]</c>), so with
/// a system message a new turn rewrites the earlier prompt and <see cref="ChatTemplate.RenderContinuation"/> is impossible.
/// </summary>
internal sealed class MistralChatTemplate : ChatTemplate
{
    public MistralChatTemplate(string bosToken, string eosToken) : base("mistral", bosToken, eosToken) { }

    private protected override void RenderCore(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt, StringBuilder output)
    {
        var (system, turns) = SplitSystem(messages, Name);
        output.Append(BosToken);
        for (int i = 0; i < turns.Count; i++)
        {
            if (turns[i].Role == "user")
            {
                output.Append("[INST] ");
                if (i == turns.Count - 1 && system is not null)
                    output.Append(system).Append("\n\n");
                output.Append(turns[i].Content).Append("[/INST]");
            }
            else
            {
                output.Append(' ').Append(Strip(turns[i].Content)).Append(EosToken);
            }
        }
    }
}
