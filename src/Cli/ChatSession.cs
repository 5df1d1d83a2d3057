using System.Runtime.CompilerServices;
using Condensa.Runtime;
using Condensa.Runtime.Batching;
using Condensa.Runtime.Generation;
using Condensa.Tokenization;

namespace Condensa.Cli;

/// <summary>
/// A multi-turn conversation over one KV cache: each turn appends only the new text (the end of the last reply as
/// the template writes it, then the next user turn) instead of prefilling the whole conversation again. When a turn
/// would not fit the context, the oldest exchanges are dropped and the rest is prefilled again; a reply that is
/// cancelled keeps what was generated. A speculative <paramref name="step"/> serves every turn, so a drafter's own cache
/// follows the conversation too.
/// </summary>
internal sealed class ChatSession(DecoderModel model, CheckpointTokenizer tokenizer, ChatTemplate template, GenerationOptions options,
    IDecodeStep? step = null) : IDisposable
{
    private readonly KvCache _cache = model.CreateCache(1);
    private readonly List<int> _cacheTokens = [];   // what the cache holds, token by token (drafters read the conversation);
                                                    // changed only in Record, after a turn's stream has ended
    private readonly List<ChatMessage> _history = [];
    private string _asked = "";          // the prompt text that asked for the last reply
    private int? _unfedToken;            // last reply token not yet in the cache (a reply cut by the token limit or cancelled)
    private bool _cacheHoldsHistory;     // false: the next turn must prefill the conversation from scratch

    /// <summary>Tokens held in the cache.</summary>
    public int CachedTokens => _cache.Lengths[0];

    /// <summary>The most tokens one sequence may hold: the model's context.</summary>
    public int ContextTokens => _cache.MaxCapacity;

    /// <summary>Whether the last turn reused the cache (false: the conversation was prefilled from scratch).</summary>
    public bool LastTurnAppended { get; private set; }

    /// <summary>User/assistant exchanges the last turn dropped from the start of the conversation to fit the context.</summary>
    public int LastTurnDropped { get; private set; }

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
        _cacheTokens.Clear();
        (_asked, _unfedToken, _cacheHoldsHistory) = ("", null, false);
    }

    /// <summary>
    /// Streams the reply to <paramref name="user"/>; <paramref name="stats"/> receives this turn's figures. Cancelling
    /// keeps the tokens generated so far as the reply; a cancelled turn that generated nothing leaves no trace.
    /// </summary>
    /// <exception cref="CondensaException">The message and a full reply do not fit the context even without earlier turns
    /// (before anything changes).</exception>
    public async IAsyncEnumerable<int> ReplyAsync(string user, GenerationStats stats, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        // 1) what to feed: an append to the cache, or the (possibly trimmed) conversation from scratch
        var message = ChatMessage.User(user);
        var prompt = NextPrompt(message);
        if (!LastTurnAppended)
        {
            _cache.Clear();
            _cacheTokens.Clear();
        }
        var start = CachedTokens;

        // 2) generate; 3) record the turn, also when cancelled part way
        var reply = new List<int>();
        try
        {
            await foreach (var token in new Generator(model, step).StreamAsync(prompt, options, stats, _cache, _cacheTokens, cancellationToken))
            {
                reply.Add(token);
                yield return token;
            }
        }
        finally
        {
            Record(message, prompt, reply, start);
        }
    }

    private void Record(ChatMessage message, List<int> prompt, List<int> reply, int start)
    {
        if (reply.Count == 0)
        {
            // Cancelled before the first token: the prompt was not fed (prefill yields the first token). A cleared cache no
            // longer matches the history, so the next turn prefills.
            _cache.RewindTo(start);
            if (!LastTurnAppended) _cacheHoldsHistory = false;
            return;
        }
        // the cache now holds the prompt and every reply token but the last
        _cacheTokens.AddRange(prompt);
        _cacheTokens.AddRange(reply[..^1]);
        var stopped = options.StopTokenIds.Contains(reply[^1]);
        _unfedToken = stopped ? null : reply[^1];
        var text = tokenizer.Decode(stopped ? reply[..^1] : reply);
        _asked = template.Render([.. _history, message], addGenerationPrompt: true);
        _history.Add(message);
        _history.Add(ChatMessage.Assistant(text.Trim()));
        _cacheHoldsHistory = true;
    }

    /// <summary>The tokens to feed for a new user turn: an append when the template allows it and the context has room,
    /// else the conversation (without its oldest exchanges if need be) from scratch.</summary>
    private List<int> NextPrompt(ChatMessage user)
    {
        LastTurnDropped = 0;
        if (Continuation(user) is { } tail)
        {
            List<int> tokens = _unfedToken is { } t ? [t] : [];
            tokens.AddRange(tokenizer.Encode(tail, addBos: false));
            if (Fits(CachedTokens + tokens.Count))
            {
                LastTurnAppended = true;
                return tokens;
            }
        }
        // First turn, a template that rewrites earlier text, or a full context: prefill the conversation.
        var (prompt, dropped) = Trimmed(user);
        _history.RemoveRange(_history.Count > 0 && _history[0].Role == "system" ? 1 : 0, 2 * dropped);
        (LastTurnAppended, LastTurnDropped, _unfedToken) = (false, dropped, null);
        return prompt;
    }

    /// <summary>The text that follows the cache's content for <paramref name="user"/>'s turn, or null when the cache
    /// cannot be extended.</summary>
    private string? Continuation(ChatMessage user)
    {
        if (!_cacheHoldsHistory || _history is not [.., { Role: "assistant", Content: var lastReply }]) return null;
        if (!template.TryRenderContinuation(_history, user, out var suffix)) return null;
        // The cache holds the asked prompt, then the reply as generated. llama2 and mistral write a space between the two
        // that is not in the prompt the model answered: the reply's first token carries it (SentencePiece's "▁"), so
        // the reply is matched after the template's whitespace, and what the template writes after it (its
        // end-of-turn token and separators) leads the new text.
        var previous = template.Render(_history, addGenerationPrompt: false);
        if (!previous.StartsWith(_asked, StringComparison.Ordinal)) return null;
        var rest = previous.AsSpan(_asked.Length);
        var gap = rest.Length - rest.TrimStart().Length;
        if (!rest[gap..].StartsWith(lastReply, StringComparison.Ordinal)) return null;
        return previous[(_asked.Length + gap + lastReply.Length)..] + suffix;
    }

    /// <summary>
    /// The whole conversation's prompt when it fits the context; else the prompt after dropping the fewest oldest
    /// exchanges that leave it within half the context (so the next turns append again instead of trimming every turn),
    /// else within the whole context.
    /// </summary>
    private (List<int> Prompt, int Dropped) Trimmed(ChatMessage user)
    {
        var system = _history.Count > 0 && _history[0].Role == "system" ? 1 : 0;
        var exchanges = (_history.Count - system) / 2;
        (List<int> Prompt, int Dropped)? fits = null;
        for (var dropped = 0; dropped <= exchanges; dropped++)
        {
            List<ChatMessage> kept = [.. _history.Take(system), .. _history.Skip(system + 2 * dropped), user];
            var prompt = tokenizer.Encode(template.Render(kept, addGenerationPrompt: true), addBos: false).ToList();
            if (Fits(prompt.Count, dropped == 0 ? ContextTokens : ContextTokens / 2)) return (prompt, dropped);
            if (fits is null && Fits(prompt.Count)) fits = (prompt, dropped);
        }
        return fits ?? throw new CondensaException(
            $"message too long: with {(system == 1 ? "the system message and " : "")}a reply of up to {options.MaxNewTokens} tokens " +
            $"it does not fit the context of {ContextTokens} tokens; send a shorter message or lower --max-tokens.");
    }

    // The last generated token is never fed back, so a turn needs prompt + max new - 1 slots (as Generator checks).
    private bool Fits(int promptTokens, int? limit = null) => promptTokens + options.MaxNewTokens - 1 <= (limit ?? ContextTokens);

    public void Dispose() => _cache.Dispose();
}
