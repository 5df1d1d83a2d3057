using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace Condensa.Server.Tests;

/// <summary>Requests the server refuses: each a 4xx with OpenAI's error shape and a message naming the fault, and the server serves on.</summary>
[TestClass]
public sealed class BadRequestTests
{
    private static DemoServer _server = null!;
    public TestContext TestContext { get; set; } = null!;

    [ClassInitialize]
    public static async Task Start(TestContext _) => _server = await DemoServer.StartAsync(new ServeOptions { MaxBatch = 2, MaxBodyBytes = 64 * 1024 });

    [ClassCleanup]
    public static async Task Stop() => await _server.DisposeAsync();

    [TestMethod]
    [DataRow("malformed JSON", "{\"model\": \"demo-code\", \"messages\": [", 400, "not valid JSON")]
    [DataRow("not an object", "[1, 2]", 400, "JSON object")]
    [DataRow("unknown model", """{"model": "gpt-9", "messages": [{"role": "user", "content": "hi"}]}""", 404, "'gpt-9' does not exist")]
    [DataRow("no messages", """{"model": "demo-code"}""", 400, "'messages'")]
    [DataRow("negative max_tokens", """{"model": "demo-code", "max_tokens": -3, "messages": [{"role": "user", "content": "hi"}]}""", 400, "'max_tokens' must be at least 1")]
    [DataRow("max_tokens past context", """{"model": "demo-code", "max_tokens": 100000, "messages": [{"role": "user", "content": "hi"}]}""", 400, "exceeds this model's context")]
    [DataRow("n = 2", """{"model": "demo-code", "n": 2, "messages": [{"role": "user", "content": "hi"}]}""", 400, "'n' must be 1")]
    [DataRow("bad role", """{"model": "demo-code", "messages": [{"role": "tool", "content": "hi"}]}""", 400, "role 'tool'")]
    [DataRow("temperature", """{"model": "demo-code", "temperature": 7, "messages": [{"role": "user", "content": "hi"}]}""", 400, "'temperature'")]
    [DataRow("tools", """{"model": "demo-code", "tools": [{}], "messages": [{"role": "user", "content": "hi"}]}""", 400, "'tools' is not supported")]
    public async Task Post_BadRequest_ClearErrorAndStillServing(string what, string body, int status, string message)
    {
        using var client = _server.Client();
        using var response = await client.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"), TestContext.CancellationToken);

        await AssertError(response, status, message, what);
        await AssertStillServing(_server);
    }

    [TestMethod]
    public async Task Post_OverlongPrompt_400NamingTheContext()
    {
        // demo-code's context is 8,192 tokens; its tokenizer splits digits, so 20,000 digits (20 KB, under the body
        // limit) are 20,000 tokens, far past it
        var words = string.Concat(Enumerable.Repeat("0123456789", 2000));
        using var client = _server.Client();
        using var response = await client.SendAsync(Sse.Post("/v1/completions", new JsonObject { ["model"] = "demo-code", ["prompt"] = words }), TestContext.CancellationToken);

        await AssertError(response, 400, "context", "over-long prompt");
        await AssertStillServing(_server);
    }

    [TestMethod]
    public async Task Post_OversizedBody_413()
    {
        var words = string.Join(' ', Enumerable.Repeat("x", 100_000));   // 200 KB against the 64 KB limit
        using var client = _server.Client();
        using var response = await client.SendAsync(Sse.Post("/v1/completions", new JsonObject { ["model"] = "demo-code", ["prompt"] = words }), TestContext.CancellationToken);

        await AssertError(response, 413, "larger than this server's limit", "oversized body");
        await AssertStillServing(_server);
    }

    [TestMethod]
    public async Task Post_ApiKey_401WithoutIt200WithIt()
    {
        await using var server = await DemoServer.StartAsync(new ServeOptions { ApiKey = "sesame" });
        using var anonymous = server.Client();
        using var wrong = server.Client("open");
        using var right = server.Client("sesame");
        var body = CondensaServerTests.Body(chat: false, "def f(", 2);

        await AssertError(await anonymous.SendAsync(Sse.Post("/v1/completions", body), TestContext.CancellationToken), 401, "API key", "no key");
        await AssertError(await wrong.SendAsync(Sse.Post("/v1/completions", body), TestContext.CancellationToken), 401, "API key", "wrong key");
        using var ok = await right.SendAsync(Sse.Post("/v1/completions", body), TestContext.CancellationToken);
        Assert.AreEqual(HttpStatusCode.OK, ok.StatusCode);
        using var health = await anonymous.GetAsync("/health", TestContext.CancellationToken);
        Assert.AreEqual(HttpStatusCode.OK, health.StatusCode, "the health check needs no key");
    }

    [TestMethod]
    public async Task Post_QueueFull_429ThenServesAgain()
    {
        // One row, no queue: a long streamed request holds the row, so the next one is refused at once.
        await using var server = await DemoServer.StartAsync(new ServeOptions { MaxBatch = 1, MaxQueue = 0 });
        using var client = server.Client();
        var longBody = CondensaServerTests.Body(chat: false, "def f(", 400);
        longBody["stream"] = true;
        longBody["stop"] = null;
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(TestContext.CancellationToken);
        await using var events = Sse.Events(client, "/v1/completions", longBody, cancel.Token).GetAsyncEnumerator(cancel.Token);
        Assert.IsTrue(await events.MoveNextAsync(), "the long request streams");

        using var refused = await client.SendAsync(Sse.Post("/v1/completions", CondensaServerTests.Body(chat: false, "x = ", 2)), TestContext.CancellationToken);
        await AssertError(refused, 429, "busy", "queue full");

        await cancel.CancelAsync();   // the client goes away: its request leaves the batch at the next step
        await events.DisposeAsync();
        await LoadTests.WaitUntilIdle(server.Server.Scheduler, TestContext.CancellationToken);
        await AssertStillServing(server);
    }

    private static async Task AssertError(HttpResponseMessage response, int status, string message, string what)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.AreEqual(status, (int)response.StatusCode, $"{what}: {text}");
        var error = JsonNode.Parse(text)!["error"]!;
        StringAssert.Contains((string?)error["message"], message, $"{what}: {text}");
        Assert.IsNotNull((string?)error["type"], what);
    }

    private async Task AssertStillServing(DemoServer server)
    {
        // a fresh connection: after a 413 Kestrel closes the one whose body it did not read
        using var client = server.Client();
        using var response = await client.SendAsync(Sse.Post("/v1/completions", CondensaServerTests.Body(chat: false, "def add(a, b):", 4)), TestContext.CancellationToken);
        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode, await response.Content.ReadAsStringAsync(TestContext.CancellationToken));
    }
}
