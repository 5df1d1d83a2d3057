using System.Text.Json;
using Condensa.Export;
using Condensa.Runtime.Generation;
using Condensa.TestSupport;
using static Condensa.Runtime.Tests.GoldenCheckpoints;

namespace Condensa.Runtime.Tests;

/// <summary>
/// The exporter + runtime reproduce Hugging Face transformers: tiny random checkpoints saved by transformers with its
/// logits and greedy continuation (tools/train/golden_tiny.py), and the shipped demo models with the logits of the
/// training script's model.
/// </summary>
[TestClass]
public sealed class GoldenFixtureTests
{
    private static string Golden => Path.Combine(RepositoryPaths.TestData, "golden");

    [TestMethod]
    [DataRow("llama", true)]
    [DataRow("mistral", true)]
    [DataRow("qwen2", true)]
    [DataRow("qwen3", true)]
    [DataRow("qwen3", false)]
    [DataRow("phi3", true)]
    [DataRow("phi3", false)]
    [DataRow("gemma2", true)]
    [DataRow("gemma2", false)]
    [DataRow("gemma3", true)]
    [DataRow("gemma3", false)]
    public async Task TransformersCheckpoint_LogitsAndGreedyTokens_Match(string name, bool fusedAttention)
    {
        var checkpoint = Path.Combine(Golden, name);
        using var golden = JsonDocument.Parse(File.ReadAllText(Path.Combine(checkpoint, "golden.json")));
        var root = golden.RootElement;
        var export = Path.Combine(Directory.CreateTempSubdirectory("condensa-golden-").FullName, name);
        CheckpointExporter.Export(checkpoint, export, new ExportOptions());
        // fused attention auto (the causal graph where the export has one: all but mistral's sliding window) or off
        using var model = DecoderModel.Load(export, new SessionSettings { FusedAttention = fusedAttention ? null : false });
        Assert.AreEqual(fusedAttention && name != "mistral", model.FusedAttention, "which graph runs");
        var vocab = model.Manifest.VocabSize;

        // 1) logits at every position of a fixed input, one pass
        var ids = Ints(root.GetProperty("input_ids"));
        using var cache = model.CreateCache(1);
        var logits = model.Forward(cache, ids, [ids.Length], LogitsSelection.All).ToArray();
        var expected = root.GetProperty("logits");
        for (var t = 0; t < ids.Length; t++)
        {
            var row = Doubles(expected[t]);
            Assert.IsLessThan(1e-4, TinyModels.RelativeError(logits.AsSpan(t * vocab, vocab), row), $"{name} position {t}");
        }

        // 2) transformers' greedy continuation, through the cache
        var prompt = Ints(root.GetProperty("greedy_prompt"));
        var want = Ints(root.GetProperty("greedy_tokens"));
        var got = new List<int>();
        await foreach (var token in new Generator(model).StreamAsync(prompt, new GenerationOptions { MaxNewTokens = want.Length }))
            got.Add(token);
        CollectionAssert.AreEqual(want, got, $"{name} greedy tokens");
    }

    [TestMethod]
    [DataRow("llama")]
    [DataRow("qwen2")]
    [DataRow("qwen3")]
    [DataRow("phi3")]
    [DataRow("gemma2")]
    [DataRow("gemma3")]
    public void TransformersCheckpoint_Int8Export_StaysNearTransformersLogits(string name)
    {
        // every architecture also on the quantized path (MatMulNBits at 8 bits, 4 is the same op): the same graph with
        // weights within their quantization error keeps the logits within a few percent of transformers' float32 ones
        // (2-6 % on these random models); a wrong slice, merge or norm on that path is off by far more
        const double tolerance = 0.1;
        const ExportPrecision precision = ExportPrecision.Int8;
        var checkpoint = Path.Combine(Golden, name);
        using var golden = JsonDocument.Parse(File.ReadAllText(Path.Combine(checkpoint, "golden.json")));
        var export = Path.Combine(Directory.CreateTempSubdirectory("condensa-golden-q-").FullName, name);
        CheckpointExporter.Export(checkpoint, export, new ExportOptions { Precision = precision });
        using var model = DecoderModel.Load(export);
        var ids = Ints(golden.RootElement.GetProperty("input_ids"));
        using var cache = model.CreateCache(1);
        var logits = model.Forward(cache, ids, [ids.Length], LogitsSelection.All).ToArray();
        var vocab = model.Manifest.VocabSize;
        var worst = Enumerable.Range(0, ids.Length).Max(t =>
            TinyModels.RelativeError(logits.AsSpan(t * vocab, vocab), Doubles(golden.RootElement.GetProperty("logits")[t])));
        TestContext.WriteLine($"{name} {precision}: worst relative error {worst:F4}");
        Assert.IsLessThan(tolerance, worst, $"{name} {precision}");
    }

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [DataRow("demo-code")]
    public async Task DemoModel_LogitsAndGreedyTokens_MatchTrainingScript(string name)
    {
        using var golden = JsonDocument.Parse(File.ReadAllText(Path.Combine(Golden, $"{name}.json")));
        var root = golden.RootElement;
        using var model = DecoderModel.Load(DemoExports.Get(name));
        var vocab = model.Manifest.VocabSize;

        // 1) logits of the last positions of a code prompt (fp16 weights upcast to fp32 on both sides)
        var ids = Ints(root.GetProperty("input_ids"));
        using var cache = model.CreateCache(1);
        var logits = model.Forward(cache, ids, [ids.Length], LogitsSelection.All).ToArray();
        var positions = Ints(root.GetProperty("positions"));
        for (var i = 0; i < positions.Length; i++)
        {
            var row = Doubles(root.GetProperty("last_logits")[i]);
            Assert.IsLessThan(1e-4, TinyModels.RelativeError(logits.AsSpan(positions[i] * vocab, vocab), row), $"{name} position {positions[i]}");
        }

        // 2) the training script's greedy continuation
        var want = Ints(root.GetProperty("greedy_tokens"));
        var got = new List<int>();
        await foreach (var token in new Generator(model).StreamAsync(ids, new GenerationOptions { MaxNewTokens = want.Length }))
            got.Add(token);
        CollectionAssert.AreEqual(want, got, $"{name} greedy tokens");
    }

}
