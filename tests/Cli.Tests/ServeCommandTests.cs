using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Condensa.Cli.Tests;

[TestClass]
public sealed class ServeCommandTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task Serve_TinyCheckpoint_AnswersUntilCancelledThenExitsZero()
    {
        var (status, _) = await Complete([], "ab", maxTokens: 3);

        Assert.AreEqual(System.Net.HttpStatusCode.OK, status);
    }

    [TestMethod]
    [Timeout(120_000, CooperativeCancellation = true)]
    [DataRow("lookup")]
    [DataRow("self")]
    [DataRow("tree")]
    public async Task Serve_Speculative_CompletesAsGenerateDoes(string mode)
    {
        var (exit, output, error) = await CliRunner.Run("generate", "--model", CliRunner.Checkpoint(), "--prompt", "ab", "--max-tokens", "12",
            "--temperature", "0", "--json");
        Assert.AreEqual(0, exit, error);

        var (status, body) = await Complete(["--speculative", mode, "--sinks", "2", "--window", "8"], "ab", maxTokens: 12);

        Assert.AreEqual(System.Net.HttpStatusCode.OK, status, body);
        Assert.AreEqual(JsonNode.Parse(output)!["text"]!.GetValue<string>(), JsonNode.Parse(body)!["choices"]![0]!["text"]!.GetValue<string>());
    }

    // Starts serve on the tiny checkpoint with extra arguments, posts one greedy completion, stops it (exit code 0).
    private async Task<(System.Net.HttpStatusCode Status, string Body)> Complete(string[] arguments, string prompt, int maxTokens)
    {
        var error = new SynchronizedWriter();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(TestContext.CancellationToken);
        var run = CliApp.RunAsync(["serve", "--model", CliRunner.Checkpoint(), "--port", "0", "--max-batch", "2", .. arguments], TextWriter.Null, error,
            stop.Token);

        // the command names its address once it listens
        Match address;
        while (!(address = Regex.Match(error.Text, @"at (http://\S+) ")).Success)
        {
            Assert.IsFalse(run.IsCompleted, $"serve ended early: {error.Text}");
            await Task.Delay(50, TestContext.CancellationToken);
        }
        using var http = new HttpClient { BaseAddress = new Uri(address.Groups[1].Value) };
        var models = JsonNode.Parse(await http.GetStringAsync("/v1/models", TestContext.CancellationToken))!;
        using var reply = await http.PostAsync("/v1/completions", new StringContent(
            $$"""{"model": "{{models["data"]![0]!["id"]}}", "prompt": "{{prompt}}", "max_tokens": {{maxTokens}}, "temperature": 0}"""),
            TestContext.CancellationToken);
        var body = await reply.Content.ReadAsStringAsync(TestContext.CancellationToken);
        await stop.CancelAsync();
        Assert.AreEqual(0, await run, error.Text);
        return (reply.StatusCode, body);
    }

    [TestMethod]
    public async Task Serve_MaxBatchZero_ParseError()
    {
        var (exit, _, error) = await CliRunner.Run("serve", "--model", "x", "--max-batch", "0");

        Assert.AreEqual(1, exit);
        StringAssert.Contains(error, "--max-batch");
    }

    /// <summary>stderr written by the server's thread while the test reads it.</summary>
    private sealed class SynchronizedWriter : StringWriter
    {
        private readonly Lock _gate = new();
        public string Text { get { lock (_gate) return ToString(); } }
        public override void Write(char value) { lock (_gate) base.Write(value); }
        public override void Write(string? value) { lock (_gate) base.Write(value); }
        public override void WriteLine(string? value) { lock (_gate) base.WriteLine(value); }
        public override Task WriteLineAsync(string? value) { WriteLine(value); return Task.CompletedTask; }
        public override Task WriteAsync(string? value) { Write(value); return Task.CompletedTask; }
    }
}
