using System.Net;
using System.Text.Json.Nodes;
using Condensa.Runtime;
using Condensa.Runtime.Batching;

namespace Condensa.Server.Tests;

/// <summary>What a speculating server reports: each request's drafts in its usage, the acceptance in /metrics.</summary>
[TestClass]
public sealed class SpeculationReportTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public async Task Completion_StepCountsDrafts_UsageAndMetricsReportThem()
    {
        await using var server = await DemoServer.StartAsync(new ServeOptions { MaxBatch = 2, Step = new CountingStep() });
        using var client = server.Client();
        var body = new JsonObject { ["model"] = "demo-code", ["prompt"] = "def f(x):", ["max_tokens"] = 6, ["temperature"] = 0 };

        using var response = await client.SendAsync(Sse.Post("/v1/completions", body), TestContext.CancellationToken);
        var reply = JsonNode.Parse(await response.Content.ReadAsStringAsync(TestContext.CancellationToken))!;
        var metrics = JsonNode.Parse(await client.GetStringAsync("/metrics", TestContext.CancellationToken))!;

        Assert.AreEqual(HttpStatusCode.OK, response.StatusCode, reply.ToJsonString());
        var passes = (int)reply["usage"]!["completion_tokens"]! - 1;   // the first token comes from the prefill
        Assert.AreEqual(3 * passes, (int)reply["usage"]!["speculation"]!["drafted"]!);
        Assert.AreEqual(2 * passes, (int)reply["usage"]!["speculation"]!["accepted"]!);
        Assert.AreEqual(2.0 / 3, (double)metrics["acceptance_rate"]!, 1e-9);
    }

    /// <summary>Plain decoding that says it drafted 3 tokens per row per pass and had 2 accepted.</summary>
    private sealed class CountingStep : IDecodeStep
    {
        private readonly PlainDecodeStep _plain = new();

        public void Step(IDecoder model, KvCache cache, IReadOnlyList<BatchRow> rows)
        {
            _plain.Step(model, cache, rows);
            foreach (var row in rows)
                if (row.IsDecoding) row.CountDrafts(3, 2);
        }
    }
}
