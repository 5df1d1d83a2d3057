using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Condensa.Server;

/// <summary>
/// The OpenAI wire shapes of one reply: chat.completion / text_completion objects, or their chunks as server-sent
/// events ("data: {json}\n\n" each, "data: [DONE]" last).
/// </summary>
internal sealed class CompletionReply(string model, bool chat)
{
    private readonly string _id = (chat ? "chatcmpl-" : "cmpl-") + Guid.NewGuid().ToString("N");
    private readonly long _created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    private bool _first = true;

    /// <summary>The non-streamed answer.</summary>
    public JsonObject Whole(string text, string finishReason, int promptTokens, int completionTokens, (int Proposed, int Accepted) drafts = default)
    {
        var choice = new JsonObject { ["index"] = 0 };
        if (chat) choice["message"] = new JsonObject { ["role"] = "assistant", ["content"] = text };
        else { choice["text"] = text; choice["logprobs"] = null; }
        choice["finish_reason"] = finishReason;
        var reply = Envelope(chat ? "chat.completion" : "text_completion");
        reply["choices"] = new JsonArray(choice);
        reply["usage"] = Usage(promptTokens, completionTokens, drafts);
        return reply;
    }

    public Task BeginStream(HttpResponse response, CancellationToken cancellationToken)
    {
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        return response.StartAsync(cancellationToken);
    }

    /// <summary>One chunk: a piece of text, or (with <paramref name="finishReason"/>) the closing chunk.</summary>
    public Task WriteChunk(HttpResponse response, string text, string? finishReason, CancellationToken cancellationToken)
    {
        var choice = new JsonObject { ["index"] = 0 };
        if (chat)
        {
            var delta = new JsonObject();
            if (_first) delta["role"] = "assistant";   // the first delta names the role, as OpenAI's does
            if (text.Length > 0 || finishReason is null) delta["content"] = text;
            choice["delta"] = delta;
        }
        else { choice["text"] = text; choice["logprobs"] = null; }
        choice["finish_reason"] = finishReason;
        _first = false;
        var chunk = Envelope(chat ? "chat.completion.chunk" : "text_completion");
        chunk["choices"] = new JsonArray(choice);
        return Event(response, chunk.ToJsonString(), cancellationToken);
    }

    /// <summary>stream_options.include_usage: a last chunk with no choices and the counts.</summary>
    public Task WriteUsage(HttpResponse response, int promptTokens, int completionTokens, (int Proposed, int Accepted) drafts,
        CancellationToken cancellationToken)
    {
        var chunk = Envelope(chat ? "chat.completion.chunk" : "text_completion");
        chunk["choices"] = new JsonArray();
        chunk["usage"] = Usage(promptTokens, completionTokens, drafts);
        return Event(response, chunk.ToJsonString(), cancellationToken);
    }

    public Task EndStream(HttpResponse response, CancellationToken cancellationToken) => Event(response, "[DONE]", cancellationToken);

    private JsonObject Envelope(string kind) => new() { ["id"] = _id, ["object"] = kind, ["created"] = _created, ["model"] = model };

    // Under speculation the counts carry the request's drafts: a field OpenAI's clients ignore and a user's scripts can read.
    private static JsonObject Usage(int prompt, int completion, (int Proposed, int Accepted) drafts)
    {
        var usage = new JsonObject { ["prompt_tokens"] = prompt, ["completion_tokens"] = completion, ["total_tokens"] = prompt + completion };
        if (drafts.Proposed > 0) usage["speculation"] = new JsonObject { ["drafted"] = drafts.Proposed, ["accepted"] = drafts.Accepted };
        return usage;
    }

    private static async Task Event(HttpResponse response, string data, CancellationToken cancellationToken)
    {
        await response.WriteAsync($"data: {data}\n\n", cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
    }
}
