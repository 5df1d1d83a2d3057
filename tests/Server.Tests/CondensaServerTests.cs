using System.ClientModel;
using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using OpenAI;

namespace Condensa.Server.Tests;

/// <summary>Real clients against a server over demo-code: plain HttpClient (JSON and SSE) and Microsoft.Extensions.AI's OpenAI client.</summary>
[TestClass]
public sealed class CondensaServerTests
{
    private static DemoServer _server = null!;
    public TestContext TestContext { get; set; } = null!;

    [ClassInitialize]
    public static async Task Start(TestContext _) => _server = await DemoServer.StartAsync(new ServeOptions { MaxBatch = 4 });

    [ClassCleanup]
    public static async Task Stop() => await _server.DisposeAsync();

    [TestMethod]
    [DataRow(true, "def fibonacci(n):")]
    [DataRow(false, "import numpy as np\n")]
    public async Task Post_GreedyNotStreamed_EqualsGenerator(bool chat, string prompt)
    {
        using var client = _server.Client();
        using var response = await client.SendAsync(Sse.Post(chat ? "/v1/chat/completions" : "/v1/completions", Body(chat, prompt, 20)), TestContext.CancellationToken);

        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync(TestContext.CancellationToken))!;
        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode, body.ToJsonString());
        var choice = body["choices"]![0]!;
        var text = chat ? (string?)choice["message"]!["content"] : (string?)choice["text"];
        Assert.AreEqual(await DemoServer.Expected(prompt, chat, 20), text);
        Assert.AreEqual(chat ? "chat.completion" : "text_completion", (string?)body["object"]);
        Assert.IsTrue((string?)choice["finish_reason"] is "stop" or "length");
        Assert.IsGreaterThan(0, (int)body["usage"]!["prompt_tokens"]!);
        Assert.AreEqual((int)body["usage"]!["prompt_tokens"]! + (int)body["usage"]!["completion_tokens"]!, (int)body["usage"]!["total_tokens"]!);
    }

    [TestMethod]
    [DataRow(true, "class Stack:")]
    [DataRow(false, "for i in range(")]
    public async Task Post_GreedyStreamed_EqualsGenerator(bool chat, string prompt)
    {
        using var client = _server.Client();
        var body = Body(chat, prompt, 24);
        body["stream"] = true;
        body["stream_options"] = new JsonObject { ["include_usage"] = true };

        var (text, finish, usage) = await Sse.Gather(client, chat ? "/v1/chat/completions" : "/v1/completions", body, TestContext.CancellationToken);

        Assert.AreEqual(await DemoServer.Expected(prompt, chat, 24), text);
        Assert.IsTrue(finish is "stop" or "length", finish);
        Assert.IsNotNull(usage);
        Assert.IsGreaterThan(0, (int)usage["completion_tokens"]!);
    }

    [TestMethod]
    public async Task OpenAiChatClient_GreedyPlainAndStreamed_EqualGenerator()
    {
        const string prompt = "def quicksort(items):";
        IChatClient client = new OpenAIClient(new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(_server.Server.Address, "/v1") })
            .GetChatClient("demo-code").AsIChatClient();
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 16 };
        var expected = await DemoServer.Expected(prompt, chat: true, 16);

        var whole = await client.GetResponseAsync(prompt, options, TestContext.CancellationToken);
        var streamed = await client.GetStreamingResponseAsync(prompt, options, TestContext.CancellationToken).ToChatResponseAsync(TestContext.CancellationToken);

        Assert.AreEqual(expected, whole.Text);
        Assert.AreEqual(expected, streamed.Text);
        Assert.IsNotNull(whole.FinishReason);
        Assert.IsGreaterThan(0, whole.Usage?.OutputTokenCount ?? 0);
    }

    [TestMethod]
    public async Task Post_StopString_EndsBeforeIt()
    {
        const string prompt = "def fibonacci(n):";
        var expected = await DemoServer.Expected(prompt, chat: true, 20);
        Assert.IsGreaterThanOrEqualTo(6, expected.Length, "the answer must be long enough to hold a stop string");
        var stop = expected.Substring(3, 2);
        using var client = _server.Client();
        var body = Body(chat: true, prompt, 20);
        body["stop"] = stop;

        using var response = await client.SendAsync(Sse.Post("/v1/chat/completions", body), TestContext.CancellationToken);
        var reply = JsonNode.Parse(await response.Content.ReadAsStringAsync(TestContext.CancellationToken))!;

        Assert.AreEqual(expected[..expected.IndexOf(stop, StringComparison.Ordinal)], (string?)reply["choices"]![0]!["message"]!["content"]);
        Assert.AreEqual("stop", (string?)reply["choices"]![0]!["finish_reason"]);
    }

    [TestMethod]
    public async Task Get_ModelsHealthMetrics_Answer()
    {
        using var client = _server.Client();
        var models = JsonNode.Parse(await client.GetStringAsync("/v1/models", TestContext.CancellationToken))!;
        var health = JsonNode.Parse(await client.GetStringAsync("/health", TestContext.CancellationToken))!;
        var metrics = JsonNode.Parse(await client.GetStringAsync("/metrics", TestContext.CancellationToken))!;

        Assert.AreEqual("demo-code", (string?)models["data"]![0]!["id"]);
        Assert.AreEqual("ok", (string?)health["status"]);
        Assert.AreEqual(4, (int)metrics["batch_rows"]!);
        Assert.IsNotNull(metrics["generated_tokens_per_second"]);
        Assert.IsNotNull(metrics["queued"]);
    }

    internal static JsonObject Body(bool chat, string prompt, int maxTokens)
    {
        var body = new JsonObject { ["model"] = "demo-code", ["max_tokens"] = maxTokens, ["temperature"] = 0 };
        if (chat) body["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = prompt });
        else body["prompt"] = prompt;
        return body;
    }
}
