using System.Text;

namespace Condensa.Tokenization;

/// <summary>
/// Gemma's turns as google/gemma-3-1b-it publishes them: BOS, then <c>&lt;start_of_turn&gt;{user|model}\n{content,
/// trimmed}&lt;end_of_turn&gt;\n</c> per message, the assistant's role written "model"; a system message is folded into
/// the first user turn ("{system}\n\n{user}"), and the turns must alternate user/assistant. Gemma 2's template is the
/// same but refuses a system message.
/// </summary>
internal sealed class GemmaChatTemplate : ChatTemplate
{
    public GemmaChatTemplate(string bosToken, string eosToken) : base("gemma", bosToken, eosToken) { }

    private protected override void RenderCore(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt, StringBuilder output)
    {
        output.Append(BosToken);
        bool system = messages.Count > 0 && messages[0].Role == "system";
        string firstUserPrefix = system ? messages[0].Content + "\n\n" : "";
        for (int i = system ? 1 : 0, turn = 0; i < messages.Count; i++, turn++)
        {
            var message = messages[i];
            if ((message.Role == "user") != (turn % 2 == 0))
                throw new ArgumentException("Conversation roles must alternate user/assistant/user/assistant/... (gemma).", nameof(messages));
            string role = message.Role == "assistant" ? "model" : message.Role;
            output.Append("<start_of_turn>").Append(role).Append('\n').Append(turn == 0 ? firstUserPrefix : "")
                  .Append(message.Content.Trim()).Append("<end_of_turn>\n");
        }
        if (addGenerationPrompt)
            output.Append("<start_of_turn>model\n");
    }
}
