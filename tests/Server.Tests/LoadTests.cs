using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Condensa.Server.Tests;

/// <summary>Many concurrent streaming clients on loopback share one batch: every answer equals its sequential answer, none is lost,
/// and clients that leave mid-stream give their rows back.</summary>
[TestClass]
public sealed class LoadTests
{
    public TestContext TestContext { get; set; } = null!;

    // Prompts of different lengths so requests join and leave the batch at different steps.
    private static readonly string[] Prompts =
    [
        "def fibonacci(n):", "import os\n", "class Node:", "for i in range(", "def add(a, b):", "while True:", "x = [", "def main():",
        "# sort a list\n", "return", "if __name__ == \"__main__\":", "def parse(line):", "try:", "with open(path) as f:", "print(", "lambda x:",
    ];

    [TestMethod]
    [Timeout(120_000, CooperativeCancellation = true)]
    public async Task Stream_64ConcurrentClientsAndDisconnects_EveryAnswerEqualsSequentialAndRowsFree()
    {
        const int clients = 64, leavers = 8, maxTokens = 12;
        await using var server = await DemoServer.StartAsync(new ServeOptions { MaxBatch = 8, MaxQueue = 128 });
        var expected = new Dictionary<string, string>();
        foreach (var prompt in Prompts) expected[prompt] = await DemoServer.Expected(prompt, chat: false, maxTokens);
        using var http = server.Client();

        // 1) 64 streaming clients at once, and 8 more that read two events and hang up; meanwhile, how full the batch gets
        var watch = Stopwatch.StartNew();
        using var sampling = CancellationTokenSource.CreateLinkedTokenSource(TestContext.CancellationToken);
        var peakRows = Task.Run(async () =>
        {
            var peak = 0;
            var scheduler = server.Server.Scheduler;
            while (!sampling.IsCancellationRequested)
            {
                peak = Math.Max(peak, scheduler.Metrics.Snapshot(scheduler.Open, scheduler.Queued, scheduler.MaxBatch).Running);
                await Task.Delay(1, CancellationToken.None);
            }
            return peak;
        }, CancellationToken.None);
        var answers = Enumerable.Range(0, clients).Select(i => Task.Run(async () =>
        {
            var prompt = Prompts[i % Prompts.Length];
            var (text, finish, _) = await Sse.Gather(http, "/v1/completions", Streamed(prompt, maxTokens), TestContext.CancellationToken);
            return (prompt, text, finish);
        })).ToArray();
        // a leaver hangs up by dropping the response; no draining, so the server sees the connection close at once
        using var hangingUp = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = server.Server.Address };
        var leaving = Enumerable.Range(0, leavers).Select(i => Task.Run(async () =>
        {
            var seen = 0;
            await foreach (var _ in Sse.Events(hangingUp, "/v1/completions", Streamed(Prompts[i], 400), TestContext.CancellationToken))
                if (++seen == 2) break;
            return seen;
        })).ToArray();

        var results = await Task.WhenAll(answers);
        var left = await Task.WhenAll(leaving);
        await sampling.CancelAsync();
        TestContext.WriteLine($"{clients} clients + {leavers} leavers in {watch.Elapsed.TotalSeconds:F1} s");

        // 2) every answer complete and equal to its sequential answer
        Assert.HasCount(clients, results);
        foreach (var (prompt, text, finish) in results)
        {
            Assert.AreEqual(expected[prompt], text, $"prompt '{prompt}'");
            Assert.IsTrue(finish is "stop" or "length", finish);
        }
        Assert.IsTrue(left.All(n => n == 2), "each leaver read two events before hanging up");
        Assert.AreEqual(8, await peakRows, "the clients must share the batch: every row busy at some point");

        // 3) the leavers' 400-token requests left the batch: no row stays taken, and the metrics say so
        await WaitUntilIdle(server.Server.Scheduler, TestContext.CancellationToken);
        var metrics = JsonNode.Parse(await http.GetStringAsync("/metrics", TestContext.CancellationToken))!;
        Assert.AreEqual(clients + leavers, (long)metrics["requests"]!);
        Assert.AreEqual(leavers, (long)metrics["cancelled"]!, metrics.ToJsonString());
        Assert.AreEqual(0, (int)metrics["running"]!);
    }

    /// <summary>Waits until no request is open in <paramref name="scheduler"/> (10 s at most, then fails).</summary>
    internal static async Task WaitUntilIdle(BatchScheduler scheduler, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        while (scheduler.Open > 0)
        {
            if (deadline.Elapsed > TimeSpan.FromSeconds(10)) Assert.Fail($"{scheduler.Open} requests still open 10 s after their clients left");
            await Task.Delay(20, cancellationToken);
        }
    }

    private static JsonObject Streamed(string prompt, int maxTokens)
    {
        var body = CondensaServerTests.Body(chat: false, prompt, maxTokens);
        body["stream"] = true;
        return body;
    }
}
