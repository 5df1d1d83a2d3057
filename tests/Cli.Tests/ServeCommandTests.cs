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
        var checkpoint = CliRunner.Checkpoint();
        var error = new SynchronizedWriter();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(TestContext.CancellationToken);
        var run = CliApp.RunAsync(["serve", "--model", checkpoint, "--port", "0", "--max-batch", "2"], TextWriter.Null, error, stop.Token);

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
            $$"""{"model": "{{models["data"]![0]!["id"]}}", "prompt": "ab", "max_tokens": 3, "temperature": 0}"""), TestContext.CancellationToken);

        Assert.IsTrue(reply.IsSuccessStatusCode, await reply.Content.ReadAsStringAsync(TestContext.CancellationToken));
        await stop.CancelAsync();
        Assert.AreEqual(0, await run, error.Text);
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
