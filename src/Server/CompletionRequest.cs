using System.Text.Json;
using Condensa.Runtime.Generation;
using Condensa.Runtime.Sampling;
using Condensa.Tokenization;

namespace Condensa.Server;

/// <summary>
/// A parsed /v1/chat/completions or /v1/completions body: the prompt as token ids and how to generate. Every field a
/// client may send is either honoured or refused here with a 400 naming it, so the scheduler sees only valid work.
/// </summary>
public sealed record CompletionRequest(bool Chat, IReadOnlyList<int> Prompt, GenerationOptions Generation, IReadOnlyList<string> Stop,
    bool Stream, bool IncludeUsage)
{
    // Fields accepted and ignored: they change nothing a plain text generator does (or only bookkeeping).
    private static readonly HashSet<string> Ignored =
        ["user", "metadata", "store", "service_tier", "logit_bias", "parallel_tool_calls", "response_format", "presence_penalty", "frequency_penalty"];

    /// <summary>Parses <paramref name="body"/> for <paramref name="model"/>; throws <see cref="ApiException"/> on anything it cannot honour.</summary>
    public static CompletionRequest Parse(ReadOnlySpan<byte> body, bool chat, ServedModel model, int defaultMaxTokens)
    {
        JsonDocument document;
        try { document = JsonDocument.Parse(body.ToArray()); }
        catch (JsonException e) { throw new ApiException(400, $"The request body is not valid JSON: {e.Message}"); }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new ApiException(400, "The request body must be a JSON object.");

            // 1) model: the one this server serves
            var modelId = String(root, "model") ?? throw ApiException.BadField("model", "'model' is required.");
            if (modelId != model.Id)
                throw new ApiException(404, $"The model '{modelId}' does not exist; this server serves '{model.Id}'.", "model", code: "model_not_found");

            // 2) fields we cannot honour are refused rather than silently dropped
            foreach (var property in root.EnumerateObject())
            {
                if (property.Name is "tools" or "tool_choice" or "functions" or "logprobs" or "top_logprobs" or "echo" or "best_of" or "suffix"
                    && property.Value.ValueKind is not (JsonValueKind.Null or JsonValueKind.False))
                    throw ApiException.BadField(property.Name, $"'{property.Name}' is not supported by condensa serve.");
            }
            if (Int(root, "n") is { } n && n != 1) throw ApiException.BadField("n", $"'n' must be 1 (got {n}); send one request per completion.");

            // 3) the prompt: chat messages through the checkpoint's template, or the raw text
            var text = chat ? RenderChat(root, model.Template) : PromptText(root);
            var prompt = model.Tokenizer.Encode(text, addBos: !chat);
            if (prompt.Count == 0) throw ApiException.BadField(chat ? "messages" : "prompt", "The prompt is empty.");

            // 4) length: the reply must fit the context after the prompt (the last token is never fed back)
            var context = model.Model.Manifest.MaxContext;
            var room = context - prompt.Count + 1;
            if (room < 1)
                throw ApiException.BadField(chat ? "messages" : "prompt",
                    $"The prompt is {prompt.Count} tokens; this model's context is {context} tokens.");
            var maxTokens = Int(root, "max_completion_tokens") ?? Int(root, "max_tokens");
            var lengthField = root.TryGetProperty("max_completion_tokens", out _) ? "max_completion_tokens" : "max_tokens";
            if (maxTokens is < 1) throw ApiException.BadField(lengthField, $"'{lengthField}' must be at least 1 (got {maxTokens}).");
            if (maxTokens > room)
                throw ApiException.BadField(lengthField,
                    $"The prompt ({prompt.Count} tokens) plus '{lengthField}' ({maxTokens}) exceeds this model's context of {context} tokens.");

            // 5) sampling
            var temperature = Float(root, "temperature") ?? 1f;
            if (temperature is < 0 or > 2) throw ApiException.BadField("temperature", $"'temperature' must be within [0, 2] (got {temperature}).");
            var topP = Float(root, "top_p") ?? 1f;
            if (topP is <= 0 or > 1) throw ApiException.BadField("top_p", $"'top_p' must be within (0, 1] (got {topP}).");
            var seed = root.TryGetProperty("seed", out var s) && s.ValueKind == JsonValueKind.Number
                ? unchecked((int)(s.TryGetInt64(out var l) ? l : throw ApiException.BadField("seed", "'seed' must be an integer.")))
                : (int?)null;
            var sampling = new SamplingOptions { Temperature = temperature, TopP = topP, Seed = seed };

            var generation = new GenerationOptions
            {
                MaxNewTokens = maxTokens ?? Math.Min(defaultMaxTokens, room), Sampling = sampling, StopTokenIds = model.StopTokenIds,
            };
            var stream = Bool(root, "stream") ?? false;
            var includeUsage = root.TryGetProperty("stream_options", out var so) && so.ValueKind == JsonValueKind.Object && (Bool(so, "include_usage") ?? false);
            return new CompletionRequest(chat, prompt, generation, StopStrings(root), stream, includeUsage);
        }
    }

    private static string RenderChat(JsonElement root, ChatTemplate template)
    {
        if (!root.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() == 0)
            throw ApiException.BadField("messages", "'messages' must be a non-empty array.");
        var turns = new List<ChatMessage>();
        var i = 0;
        foreach (var message in messages.EnumerateArray())
        {
            var role = message.ValueKind == JsonValueKind.Object ? String(message, "role") : null;
            // "developer" is OpenAI's newer name for the system role
            role = role == "developer" ? "system" : role;
            if (role is not ("system" or "user" or "assistant"))
                throw ApiException.BadField($"messages[{i}].role", $"messages[{i}] has role '{role}'; condensa serve takes system, user and assistant messages.");
            turns.Add(new ChatMessage(role, Content(message, i)));
            i++;
        }
        try { return template.Render(turns, addGenerationPrompt: true); }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException) { throw ApiException.BadField("messages", e.Message); }
    }

    /// <summary>A message's text: a string, or an array of {"type": "text", "text": ...} parts.</summary>
    private static string Content(JsonElement message, int index)
    {
        if (!message.TryGetProperty("content", out var content) || content.ValueKind == JsonValueKind.Null) return "";
        if (content.ValueKind == JsonValueKind.String) return content.GetString()!;
        if (content.ValueKind == JsonValueKind.Array)
        {
            var text = new System.Text.StringBuilder();
            foreach (var part in content.EnumerateArray())
            {
                if (part.ValueKind != JsonValueKind.Object || String(part, "type") != "text")
                    throw ApiException.BadField($"messages[{index}].content", "Only text content parts are supported.");
                text.Append(String(part, "text"));
            }
            return text.ToString();
        }
        throw ApiException.BadField($"messages[{index}].content", "'content' must be a string or an array of text parts.");
    }

    private static string PromptText(JsonElement root)
    {
        if (!root.TryGetProperty("prompt", out var prompt)) throw ApiException.BadField("prompt", "'prompt' is required.");
        if (prompt.ValueKind == JsonValueKind.String) return prompt.GetString()!;
        if (prompt.ValueKind == JsonValueKind.Array && prompt.GetArrayLength() == 1 && prompt[0].ValueKind == JsonValueKind.String) return prompt[0].GetString()!;
        throw ApiException.BadField("prompt", "'prompt' must be a string (one prompt per request).");
    }

    private static IReadOnlyList<string> StopStrings(JsonElement root)
    {
        if (!root.TryGetProperty("stop", out var stop) || stop.ValueKind == JsonValueKind.Null) return [];
        if (stop.ValueKind == JsonValueKind.String) return [stop.GetString()!];
        if (stop.ValueKind == JsonValueKind.Array && stop.GetArrayLength() <= 4 && stop.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String))
            return [.. stop.EnumerateArray().Select(e => e.GetString()!)];
        throw ApiException.BadField("stop", "'stop' must be a string or an array of up to 4 strings.");
    }

    private static string? String(JsonElement e, string name) => !e.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null ? null
        : v.ValueKind == JsonValueKind.String ? v.GetString() : throw ApiException.BadField(name, $"'{name}' must be a string.");

    private static int? Int(JsonElement e, string name) => !e.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null ? null
        : v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i) ? i : throw ApiException.BadField(name, $"'{name}' must be an integer.");

    private static float? Float(JsonElement e, string name) => !e.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null ? null
        : v.ValueKind == JsonValueKind.Number ? v.GetSingle() : throw ApiException.BadField(name, $"'{name}' must be a number.");

    private static bool? Bool(JsonElement e, string name) => !e.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null ? null
        : v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : throw ApiException.BadField(name, $"'{name}' must be true or false.");
}
