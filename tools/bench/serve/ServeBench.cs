// Load generator for `condensa serve`: N concurrent streaming clients, each sending R requests back to back, report
// throughput and p50/p99 time to first token and inter-token latency. A .NET 10 file-based app:
//   dotnet run tools/bench/serve/ServeBench.cs -- URL MODEL CLIENTS REQUESTS_PER_CLIENT MAX_TOKENS
// It prints one markdown table row: clients | requests | tokens | wall s | tok/s | TTFT p50 | TTFT p99 | ITL p50 | ITL p99.
using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;

var url = new Uri(args[0]);
var model = args[1];
var clients = int.Parse(args[2]);
var perClient = int.Parse(args[3]);
var maxTokens = int.Parse(args[4]);
string[] prompts = ["def fibonacci(n):", "import os\n", "class Node:", "for i in range(", "def add(a, b):", "while True:", "x = [", "def main():"];

using var http = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromMinutes(10) };
var ttft = new List<double>();
var gaps = new List<double>();
long events = 0;
var gate = new Lock();
var wall = Stopwatch.StartNew();
await Task.WhenAll(Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
{
    for (var r = 0; r < perClient; r++)
    {
        var body = new JsonObject
        {
            ["model"] = model, ["prompt"] = prompts[(c + r) % prompts.Length], ["max_tokens"] = maxTokens, ["temperature"] = 0, ["stream"] = true,
        };
        var start = Stopwatch.GetTimestamp();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var last = 0L;
        var mine = new List<double>();
        double first = -1;
        while (await reader.ReadLineAsync() is { } line)
        {
            if (!line.StartsWith("data: ") || line == "data: [DONE]") continue;
            var now = Stopwatch.GetTimestamp();
            if (first < 0) first = Stopwatch.GetElapsedTime(start, now).TotalMilliseconds;
            else mine.Add(Stopwatch.GetElapsedTime(last, now).TotalMilliseconds);
            last = now;
        }
        lock (gate) { ttft.Add(first); gaps.AddRange(mine); events += mine.Count + 1; }
    }
})));
var seconds = wall.Elapsed.TotalSeconds;

static double Pct(List<double> xs, double p)
{
    if (xs.Count == 0) return double.NaN;
    xs.Sort();
    return xs[Math.Min(xs.Count - 1, (int)Math.Ceiling(p * xs.Count) - 1)];
}
// events ~ tokens: one SSE chunk per token that completes text (a few tokens are held back by the decoder)
Console.WriteLine($"| {clients} | {clients * perClient} | {events} | {seconds:F1} | {events / seconds:F1} | {Pct(ttft, 0.5):F0} | {Pct(ttft, 0.99):F0} | {Pct(gaps, 0.5):F1} | {Pct(gaps, 0.99):F1} |");
