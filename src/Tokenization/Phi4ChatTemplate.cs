using System.Text;

namespace Condensa.Tokenization;

/// <summary>
/// Phi-4-mini's turns as microsoft/Phi-4-mini-instruct publishes them: <c>&lt;|{role}|&gt;{content}&lt;|end|&gt;</c> per
/// message, with no newline after the role tag or the end tag (unlike Phi-3's), then <c>&lt;|assistant|&gt;</c> as the
/// generation prompt, or the EOS token where there is none. A system message's tool list (a field Condensa's messages
/// do not have) is not written.
/// </summary>
internal sealed class Phi4ChatTemplate : ChatTemplate
{
    public Phi4ChatTemplate(string bosToken, string eosToken) : base("phi4", bosToken, eosToken) { }

    private protected override void RenderCore(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt, StringBuilder output)
    {
        foreach (var message in messages)
            output.Append("<|").Append(message.Role).Append("|>").Append(message.Content).Append("<|end|>");
        output.Append(addGenerationPrompt ? "<|assistant|>" : EosToken);
    }
}
