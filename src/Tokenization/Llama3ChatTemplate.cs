using System.Text;

namespace Condensa.Tokenization;

/// <summary>
/// Llama 3 instruct (meta-llama/Meta-Llama-3-8B-Instruct):
/// <c>&lt;|begin_of_text|&gt;&lt;|start_header_id|&gt;{role}&lt;|end_header_id|&gt;\n\n{content}&lt;|eot_id|&gt;</c> per message, content trimmed.
/// </summary>
internal sealed class Llama3ChatTemplate : ChatTemplate
{
    public Llama3ChatTemplate(string bosToken, string eosToken) : base("llama3", bosToken, eosToken) { }

    private protected override void RenderCore(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt, StringBuilder output)
    {
        for (int i = 0; i < messages.Count; i++)
        {
            if (i == 0)
                output.Append(BosToken);
            output.Append("<|start_header_id|>").Append(messages[i].Role).Append("<|end_header_id|>\n\n")
                  .Append(Strip(messages[i].Content)).Append("<|eot_id|>");
        }
        if (addGenerationPrompt)
            output.Append("<|start_header_id|>assistant<|end_header_id|>\n\n");
    }
}
