using System.Text.Json;
using Condensa.Cli.Bench;

namespace Condensa.Cli.Tests;

/// <summary>
/// <see cref="ProcessRotation"/>: with several models `bench` measures each in a process of its own per round, children
/// get this bench's options without the ones the parent keeps, and the table reports each model's median with its range.
/// </summary>
[TestClass]
public sealed class BenchRotationTests
{
    [TestMethod]
    public void Applies_SeveralModelsUnlessInProcessOrAChild()
    {
        Assert.IsFalse(ProcessRotation.Applies(models: 1, inProcess: false), "one model measures in-process");
        Assert.IsTrue(ProcessRotation.Applies(models: 2, inProcess: false));
        Assert.IsFalse(ProcessRotation.Applies(models: 2, inProcess: true), "--in-process");
        Environment.SetEnvironmentVariable(ProcessRotation.ChildVariable, "1");
        try
        {
            Assert.IsFalse(ProcessRotation.Applies(models: 2, inProcess: false), "a child never rotates again");
        }
        finally
        {
            Environment.SetEnvironmentVariable(ProcessRotation.ChildVariable, null);
        }
    }

    [TestMethod]
    public void Order_EveryModelOncePerRoundInTheGivenOrder()
    {
        var order = ProcessRotation.Order(["a", "b", "c"], rounds: 2).ToList();
        CollectionAssert.AreEqual(new[] { (0, "a"), (0, "b"), (0, "c"), (1, "a"), (1, "b"), (1, "c") }, order);
    }

    [TestMethod]
    public void ChildArguments_DropTheModelsRunsOutputsAndBandwidth_KeepTheRest()
    {
        string[] args = ["bench", "-m", "one", "two", "--batch", "1,8", "--runs", "5", "--json", "out.json", "--model=three",
            "--chart", "c.svg", "--bandwidth", "4362", "--provider", "cuda", "--no-bandwidth", "--bandwidth-buffer", "64", "--in-process",
            "--context", "512"];

        var child = ProcessRotation.ChildArguments(args, "two", "/tmp/x.json");

        CollectionAssert.AreEqual(new[] { "bench", "--batch", "1,8", "--provider", "cuda", "--context", "512",
            "-m", "two", "--runs", "1", "--no-bandwidth", "--json", "/tmp/x.json" }, child);
    }

    [TestMethod]
    public async Task Bench_TwoModels_EachInItsOwnProcessWithMedianAndRange()
    {
        string a = CliRunner.Checkpoint(), b = CliRunner.Checkpoint(new TestSupport.TinyModelSpec { Architecture = "llama", Seed = 9 });
        var json = Path.Combine(Directory.CreateTempSubdirectory().FullName, "bench.json");
        Environment.SetEnvironmentVariable(ProcessRotation.SelfVariable, Path.Combine(AppContext.BaseDirectory, "condensa.dll"));
        try
        {
            var (exit, output, error) = await CliRunner.Run(["bench", "-m", a, b, "--batch", "1", "--context", "16", "--runs", "3",
                "--decode-steps", "2", "--prefill-tokens", "8", "--threads", "1", "--bandwidth", "10", "--json", json]);

            Assert.AreEqual(0, exit, error);
            StringAssert.Contains(output, "each model in a process of its own per round");
            using var doc = JsonDocument.Parse(File.ReadAllText(json));
            var rows = doc.RootElement.GetProperty("rows").EnumerateArray().ToList();
            Assert.HasCount(2, rows);
            CollectionAssert.AreEqual(new[] { a, b }, rows.Select(r => r.GetProperty("model").GetString()).ToArray());
            foreach (var row in rows)
            {
                double median = row.GetProperty("decode_tokens_per_second").GetDouble(),
                    slowest = row.GetProperty("decode_slowest").GetDouble(), fastest = row.GetProperty("decode_fastest").GetDouble();
                Assert.IsTrue(slowest > 0 && slowest <= median + 0.1 && median <= fastest + 0.1, $"{slowest} <= {median} <= {fastest}");
                Assert.IsTrue(row.GetProperty("bound").GetProperty("of_bound_low").GetDouble() > 0, "the share has a range");
            }
        }
        finally
        {
            Environment.SetEnvironmentVariable(ProcessRotation.SelfVariable, null);
        }
    }
}
