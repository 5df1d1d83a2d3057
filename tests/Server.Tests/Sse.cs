using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Condensa.Server.Tests;

/// <summary>A plain HttpClient reading server-sent events: "data: {json}" lines up to "data: [DONE]".</summary>
internal static class Sse
{
    public static HttpRequestMessage Post(string path, JsonObject body) => new(HttpMethod.Post, path)
    {
        Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
    };

    /// <summary>Every event's JSON, in order; fails if the stream ends without [DONE].</summary>
    public static async IAsyncEnumerable<JsonObject> Events(HttpClient client, string path, JsonObject body,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var request = Post(path, body);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (!response.IsSuccessStatusCode)
            throw new HttpRequestException($"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}");
        Assert.AreEqual("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length == 0) continue;
            Assert.StartsWith("data: ", line);
            var data = line["data: ".Length..];
            if (data == "[DONE]") yield break;
            yield return JsonNode.Parse(data)!.AsObject();
        }
        Assert.Fail("the event stream ended without data: [DONE]");
    }

    /// <summary>A streamed reply gathered: its text (chat deltas or completion text) and its finish reason.</summary>
    public static async Task<(string Text, string? Finish, JsonObject? Usage)> Gather(HttpClient client, string path, JsonObject body,
        CancellationToken cancellationToken = default)
    {
        var text = new StringBuilder();
        string? finish = null;
        JsonObject? usage = null;
        await foreach (var e in Events(client, path, body, cancellationToken))
        {
            if (e["usage"] is JsonObject u) usage = u;
            foreach (var choice in e["choices"]!.AsArray())
            {
                text.Append((string?)(choice!["delta"]?["content"] ?? choice["text"]));
                finish ??= (string?)choice["finish_reason"];
            }
        }
        return (text.ToString(), finish, usage);
    }
}
