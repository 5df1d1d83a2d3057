using System.Runtime.CompilerServices;
using Condensa.Runtime;
using Condensa.Runtime.Generation;
using Condensa.Tokenization;

namespace Condensa.Cli;

/// <summary>
/// A multi-turn conversation over one KV cache: each turn appends only the new text (the end of the last reply as
/// the template writes it, then the next user turn) instead of prefilling the whole conversation again.
/// </summary>
internal sealed class ChatSession(DecoderModel model, CheckpointTokenizer tokenizer, ChatTemplate template, GenerationOptions options) : IDisposable
{
    private readonly KvCache _cache = model.CreateCache(1);
    private readonly List<ChatMessage> _history = [];
    private string _asked = "";          // the prompt text that asked for the last reply
    private int? _unfedToken;            // last reply token not yet in the cache (a reply cut by the token limit)

    /// <summary>Tokens held in the cache.</summary>
    public int CachedTokens => _cache.Lengths[0];

    /// <summary>Whether the last turn reused the cache (false: the conversation was prefilled from scratch).</summary>
    public bool LastTurnAppended { get; private set; }

    /// <summary>Starts the conversation with a system message.</summary>
    public void SetSystem(string system)
    {
        if (_history.Count > 0) throw new InvalidOperationException("the system message comes first");
        _history.Add(ChatMessage.System(system));
    }

    /// <summary>Forgets the conversation (keeps the system message).</summary>
    public void Reset()
    {
        _history.RemoveAll(m => m.Role != "system");
        _cache.Clear();
        (_asked, _unfedToken) = ("", null);
    }

    /// <summary>Streams the reply to <paramref name="user"/>; <paramref name="stats"/> receives this turn's figures.</summary>
    public async IAsyncEnumerable<int> ReplyAsync(string user, GenerationStats stats, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var message = ChatMessage.User(user);
        var prompt = NextPrompt(message);
        var reply = new List<int>();
        await foreach (var token in new Generator(model).StreamAsync(prompt, options, stats, _cache, cancellationToken))
        {
            reply.Add(token);
            yield return token;
        }
        var stopped = reply.Count > 0 && options.StopTokenIds.Contains(reply[^1]);
        _unfedToken = stopped || reply.Count == 0 ? null : reply[^1];
        var text = tokenizer.Decode(stopped ? reply[..^1] : reply);
        _asked = template.Render([.. _history, message], addGenerationPrompt: true);
        _history.Add(message);
        _history.Add(ChatMessage.Assistant(text.Trim()));
    }

    /// <summary>The tokens to feed for a new user turn: an append when the template allows it, else the whole conversation.</summary>
    private List<int> NextPrompt(ChatMessage user)
    {
        var lastReply = _history.Count > 0 && _history[^1].Role == "assistant" ? _history[^1].Content : null;
        if (lastReply is not null && template.TryRenderContinuation(_history, user, out var suffix))
        {
            // The cache holds the asked prompt and the reply; what the template writes after the reply (its end-of-turn
            // token and separators) has not been fed yet, so it leads the new text.
            var previous = template.Render(_history, addGenerationPrompt: false);
            var seen = _asked + lastReply;
            if (previous.StartsWith(seen, StringComparison.Ordinal))
            {
                LastTurnAppended = true;
                List<int> tokens = _unfedToken is { } t ? [t] : [];
                tokens.AddRange(tokenizer.Encode(previous[seen.Length..] + suffix, addBos: false));
                return tokens;
            }
        }
        // First turn, or a template that rewrites earlier text: prefill the whole conversation.
        LastTurnAppended = false;
        _cache.Clear();
        _unfedToken = null;
        return [.. tokenizer.Encode(template.Render([.. _history, user], addGenerationPrompt: true), addBos: false)];
    }

    public void Dispose() => _cache.Dispose();
}
