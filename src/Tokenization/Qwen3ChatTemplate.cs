using System.Text;

namespace Condensa.Tokenization;

/// <summary>
/// Qwen3's ChatML as its hybrid-thinking checkpoints publish it (Qwen/Qwen3-8B), for text messages without tool calls:
/// <c>&lt;|im_start|&gt;{role}\n{content}&lt;|im_end|&gt;\n</c> per message and no default system message; an assistant
/// turn's reasoning (<c>&lt;think&gt;…&lt;/think&gt;</c>) is left out of the history, except on turns after the last
/// user query (kept there as <c>&lt;think&gt;\n{reasoning}\n&lt;/think&gt;\n\n</c>, always on the last message);
/// tool results are wrapped in <c>&lt;tool_response&gt;</c> inside a user turn. With thinking off the generation prompt
/// ends with an empty reasoning block, as the template's <c>enable_thinking=False</c> writes it.
/// </summary>
/// <remarks>
/// Since reasoning is dropped from the history once the next user turn arrives, a new turn rewrites the text of the last
/// reply: <see cref="ChatTemplate.TryRenderContinuation"/> returns false after an assistant turn and a REPL prefills.
/// </remarks>
internal sealed class Qwen3ChatTemplate : ChatTemplate
{
    private const string ThinkOpen = "<think>", ThinkClose = "</think>";

    /// <summary>What the generation prompt gets after <c>&lt;|im_start|&gt;assistant\n</c> with thinking off.</summary>
    public const string EmptyThinking = "<think>\n\n</think>\n\n";

    private readonly bool _thinking;

    public Qwen3ChatTemplate(string bosToken, string eosToken, bool thinking = true) : base("qwen3", bosToken, eosToken) =>
        _thinking = thinking;

    private protected override void RenderCore(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt, StringBuilder output)
    {
        if (messages.Count > 0 && messages[0].Role == "system")
            output.Append("<|im_start|>system\n").Append(messages[0].Content).Append("<|im_end|>\n");
        int lastQuery = LastQueryIndex(messages);
        for (int i = 0; i < messages.Count; i++)
        {
            var (role, content) = (messages[i].Role, messages[i].Content);
            bool last = i == messages.Count - 1;
            if (role == "user" || (role == "system" && i > 0))
            {
                output.Append("<|im_start|>").Append(role).Append('\n').Append(content).Append("<|im_end|>\n");
            }
            else if (role == "assistant")
            {
                var (reasoning, reply) = SplitReasoning(content);
                output.Append("<|im_start|>assistant\n");
                if (i > lastQuery && (last || reasoning.Length > 0))
                    output.Append("<think>\n").Append(reasoning.Trim('\n')).Append("\n</think>\n\n").Append(reply.TrimStart('\n'));
                else
                    output.Append(reply);
                output.Append("<|im_end|>\n");
            }
            else if (role == "tool")
            {
                if (i == 0 || messages[i - 1].Role != "tool")
                    output.Append("<|im_start|>user");
                output.Append("\n<tool_response>\n").Append(content).Append("\n</tool_response>");
                if (last || messages[i + 1].Role != "tool")
                    output.Append("<|im_end|>\n");
            }
        }
        if (addGenerationPrompt)
            output.Append("<|im_start|>assistant\n").Append(_thinking ? "" : EmptyThinking);
    }

    /// <summary>The last user message that is not a tool response (the template's last_query_index); the last index if none.</summary>
    private static int LastQueryIndex(IReadOnlyList<ChatMessage> messages)
    {
        for (int i = messages.Count - 1; i >= 0; i--)
        {
            var content = messages[i].Content;
            if (messages[i].Role == "user" &&
                !(content.StartsWith("<tool_response>", StringComparison.Ordinal) && content.EndsWith("</tool_response>", StringComparison.Ordinal)))
                return i;
        }
        return messages.Count - 1;
    }

    /// <summary>
    /// The reasoning and the reply of an assistant message, as the template splits them where the content holds
    /// <c>&lt;/think&gt;</c>: the reasoning is what precedes the first <c>&lt;/think&gt;</c> (newlines trimmed at its end),
    /// after its last <c>&lt;think&gt;</c> (newlines trimmed at its start); the reply is what follows the last
    /// <c>&lt;/think&gt;</c>, newlines trimmed at its start. No <c>&lt;/think&gt;</c>: no reasoning, the content unchanged.
    /// </summary>
    private static (string Reasoning, string Reply) SplitReasoning(string content)
    {
        int close = content.IndexOf(ThinkClose, StringComparison.Ordinal);
        if (close < 0)
            return ("", content);
        string reasoning = content[..close].TrimEnd('\n');
        int open = reasoning.LastIndexOf(ThinkOpen, StringComparison.Ordinal);
        if (open >= 0)
            reasoning = reasoning[(open + ThinkOpen.Length)..];
        string reply = content[(content.LastIndexOf(ThinkClose, StringComparison.Ordinal) + ThinkClose.Length)..];
        return (reasoning.TrimStart('\n'), reply.TrimStart('\n'));
    }
}
