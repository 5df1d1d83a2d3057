using System.Text;

namespace Condensa.Tokenization;

/// <summary>
/// Phi-3's turns as microsoft/Phi-3-mini-4k-instruct publishes them: <c>&lt;|{role}|&gt;\n{content}&lt;|end|&gt;\n</c>
/// per system, user or assistant message (other roles are left out), then <c>&lt;|assistant|&gt;\n</c> as the generation
/// prompt, or the EOS token where there is none.
/// </summary>
internal sealed class Phi3ChatTemplate : ChatTemplate
{
    public Phi3ChatTemplate(string bosToken, string eosToken) : base("phi3", bosToken, eosToken) { }

    private protected override void RenderCore(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt, StringBuilder output)
    {
        foreach (var message in messages)
            if (message.Role is "system" or "user" or "assistant")
                output.Append("<|").Append(message.Role).Append("|>\n").Append(message.Content).Append("<|end|>\n");
        output.Append(addGenerationPrompt ? "<|assistant|>\n" : EosToken);
    }
}
