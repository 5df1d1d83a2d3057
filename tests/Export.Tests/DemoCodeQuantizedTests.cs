using System.Globalization;
using System.Text.Json;
using Condensa.TestSupport;
using Condensa.Tokenization;

namespace Condensa.Export.Tests;

/// <summary>
/// The int4 export of the trained demo model (models/demo-code) against fp32, on a model whose logits mean something
/// (random tiny models have near-ties everywhere): greedy decoding makes fp32's choices, and the next-token
/// distributions on held-out text stay close, closer than with every weight at 4 bits.
/// </summary>
[TestClass]
public sealed class DemoCodeQuantizedTests
{
    private const int NewTokens = 16;

    // Logits: on held-out text the default int4 export moves fp32's top-2 gap by 0.37 RMS (all-4-bit: 0.51; int8: 0.06),
    // and over 864 greedy steps (54 prompts) it chose differently from fp32 only where fp32's gap was under 0.85. A choice that close
    // is a coin toss for 4-bit weights (int8 itself flips the 0.02 gap at step 4 of the golden slice [9, 14)); a layout
    // or scale bug flips confident choices too.
    private const float NearTie = 1.0f;

    private static readonly Lazy<string> Int4Export = new(() => ExportDemo(null));
    private static readonly Lazy<string> AllFourBitExport = new(() => ExportDemo(Int4Mix.None));
    private static readonly Lazy<CheckpointTokenizer> Tokenizer = new(() => TokenizerFactory.FromCheckpoint(DemoCheckpoint));

    private static string DemoCheckpoint => Path.Combine(RepositoryPaths.Models, "demo-code");

    /// <summary>The golden prompt (BOS first) and slices of it, shorter and mid-sentence contexts.</summary>
    [TestMethod]
    [DataRow(1, 16)]   // the whole golden prompt: 'def fibonacci(n):\n    """Return the n'
    [DataRow(0, 6)]
    [DataRow(5, 16)]
    [DataRow(9, 14)]
    [DataRow(2, 12)]
    public void Int4_GreedyFromGoldenPromptSlices_Fp32ChoiceAtEveryStepButNearTies(int from, int to) =>
        AssertGreedyLikeFp32([1, .. GoldenIds()[Math.Max(from, 1)..to]]);

    /// <summary>The first function definition of each held-out file (tools/train/*.py, tools/tokenizers/make_golden.py):
    /// the continuation is the start of its body.</summary>
    [TestMethod]
    [DataRow("def copy_tokenizer(src_dir, dst_dir):\n")]
    [DataRow("def source_roots():\n")]
    [DataRow("def load_llama(path):\n")]
    [DataRow("def make_config(name):\n")]
    [DataRow("def parse_layer_types(s, n_layers):\n")]
    [DataRow("def greedy(fn, ids, n):\n")]
    [DataRow("def cfg(layer_types, n, force_nodiag=True):\n")]
    [DataRow("def build_llama(preset):\n")]
    [DataRow("def log(*args):\n")]
    public void Int4_GreedyFromHeldOutDefinitions_Fp32ChoiceAtEveryStepButNearTies(string line) =>
        AssertGreedyLikeFp32([.. Tokenizer.Value.Encode(line, addBos: true)]);

    /// <summary>
    /// Mean KL(fp32 ‖ int4) of the next-token distributions over 12 windows of 256 held-out tokens: the default mix
    /// (k_proj, v_proj and lm_head at 8 bits) measures 0.018, all 4 bits 0.036. The bound fails the all-4-bit export.
    /// </summary>
    [TestMethod]
    public void Int4_HeldOutText_KlFromFp32HalfThatOfAllFourBits()
    {
        var windows = HeldOutWindows(count: 12, length: 256);

        double kl = MeanKl(Int4Export.Value, windows), allFourBit = MeanKl(AllFourBitExport.Value, windows);

        Assert.IsLessThan(0.025, kl, $"default int4 {kl:E3}, all 4 bits {allFourBit:E3}");
        Assert.IsLessThan(0.6 * allFourBit, kl, $"default int4 {kl:E3}, all 4 bits {allFourBit:E3}");
        Assert.IsGreaterThan(1e-3, kl, "4-bit weights must cost something (else the test compares fp32 with itself)");
    }

    // 1) fp32 decodes 16 tokens greedily; 2) int4 runs once over the prompt and those tokens (teacher forcing): at each
    // step it must choose fp32's token unless fp32's own top-2 gap there is a near-tie. With no near-tie flip this is
    // exactly "int4's greedy tokens equal fp32's", and unlike a free-running comparison it checks every step after one.
    private static void AssertGreedyLikeFp32(int[] prompt)
    {
        var config = HfConfig.Load(DemoCheckpoint);
        var (fp32, gaps) = Greedy(DemoExports.Get("demo-code"), config, prompt);

        int[] seq = [.. prompt, .. fp32];
        using var runner = new OnnxGraphRunner(Path.Combine(Int4Export.Value, CheckpointExporter.ModelFileName));
        long[] steps = [.. Enumerable.Range(prompt.Length - 1, NewTokens).Select(i => (long)i)];
        var logits = new DecoderHarness(runner, config)
            .Step([seq], [Enumerable.Range(0, seq.Length).ToArray()], capacity: 1, pastLen: [0], logitsIndex: [steps])[GraphNames.Logits];
        int[] int4 = [.. Enumerable.Range(0, NewTokens).Select(i => DecoderHarness.ArgMax(DecoderHarness.LogitsAt(logits, 0, i)))];

        string Show(IEnumerable<float> g) => string.Join(", ", g.Select(v => v.ToString("F2", CultureInfo.InvariantCulture)));
        for (int i = 0; i < NewTokens; i++)
            if (int4[i] != fp32[i])
                Assert.IsLessThan(NearTie, gaps[i], $"step {i} after [{string.Join(", ", prompt)}]: fp32 chose {fp32[i]} by a top-2 gap of " +
                    $"{gaps[i]:F3}, int4 {int4[i]}; fp32 [{string.Join(", ", fp32)}], int4 [{string.Join(", ", int4)}], fp32 gaps [{Show(gaps)}]");
    }

    // Greedy decoding by full recompute (a 32-token window costs nothing on this model); returns the tokens and the
    // top-2 logit gap at each step.
    private static (int[] Tokens, float[] Gaps) Greedy(string exportDir, HfConfig config, int[] prompt)
    {
        using var runner = new OnnxGraphRunner(Path.Combine(exportDir, CheckpointExporter.ModelFileName));
        var harness = new DecoderHarness(runner, config);
        var seq = new List<int>(prompt);
        var gaps = new float[NewTokens];
        for (int step = 0; step < NewTokens; step++)
        {
            int n = seq.Count;
            var outputs = harness.Step([[.. seq]], [Enumerable.Range(0, n).ToArray()], capacity: 1, pastLen: [0], logitsIndex: [[n - 1]]);
            var logits = DecoderHarness.LogitsAt(outputs[GraphNames.Logits], 0, 0);
            int best = DecoderHarness.ArgMax(logits);
            gaps[step] = logits[best] - logits.Where((_, i) => i != best).Max();
            seq.Add(best);
        }
        return ([.. seq.Skip(prompt.Length)], gaps);
    }

    private static double MeanKl(string exportDir, IReadOnlyList<int[]> windows)
    {
        var config = HfConfig.Load(DemoCheckpoint);
        using var fp32Runner = new OnnxGraphRunner(Path.Combine(DemoExports.Get("demo-code"), CheckpointExporter.ModelFileName));
        using var runner = new OnnxGraphRunner(Path.Combine(exportDir, CheckpointExporter.ModelFileName));
        double sum = 0;
        int count = 0;
        foreach (var window in windows)
        {
            int[] positions = [.. Enumerable.Range(0, window.Length)];
            var p = new DecoderHarness(fp32Runner, config).Step([window], [positions], capacity: 1, pastLen: [0])[GraphNames.Logits];   // [1, S, V]
            var q = new DecoderHarness(runner, config).Step([window], [positions], capacity: 1, pastLen: [0])[GraphNames.Logits];       // [1, S, V]
            for (int i = 0; i < window.Length; i++, count++)
                sum += Kl(DecoderHarness.LogitsAt(p, 0, i), DecoderHarness.LogitsAt(q, 0, i));
        }
        return sum / count;
    }

    // KL(softmax(p) ‖ softmax(q)) of two logit rows.
    private static double Kl(float[] p, float[] q)
    {
        double lp = LogSumExp(p), lq = LogSumExp(q), kl = 0;
        for (int i = 0; i < p.Length; i++)
        {
            double logP = p[i] - lp;
            kl += Math.Exp(logP) * (logP - (q[i] - lq));
        }
        return kl;
    }

    private static double LogSumExp(float[] x)
    {
        double max = x.Max(), sum = 0;
        foreach (float v in x) sum += Math.Exp(v - max);
        return max + Math.Log(sum);
    }

    // Evenly spaced windows (BOS first) of the held-out text perplexity is measured on (docs/benchmarks.md).
    private static List<int[]> HeldOutWindows(int count, int length)
    {
        var files = Directory.GetFiles(Path.Combine(RepositoryPaths.Root, "tools", "train"), "*.py").Order(StringComparer.Ordinal)
            .Append(Path.Combine(RepositoryPaths.Root, "tools", "tokenizers", "make_golden.py"));
        var ids = Tokenizer.Value.Encode(string.Join("\n", files.Select(File.ReadAllText)), addBos: false);
        return [.. Enumerable.Range(0, count).Select(w => (int[])[1, .. ids.Skip((int)((long)w * (ids.Count - length) / count)).Take(length - 1)])];
    }

    private static int[] GoldenIds()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepositoryPaths.TestData, "golden", "demo-code.json")));
        return [.. doc.RootElement.GetProperty("input_ids").EnumerateArray().Select(e => e.GetInt32())];
    }

    // The int4 export of demo-code with the default settings, or with those and another mix.
    private static string ExportDemo(Int4Mix? mix)
    {
        var dir = Path.Combine(Path.GetTempPath(), "condensa-tests", $"demo-code-int4-{mix?.ToString() ?? "default"}-{Environment.ProcessId}");
        var options = new ExportOptions
        {
            Precision = ExportPrecision.Int4,
            Quantization = mix is { } m ? ExportOptions.DefaultQuantization(ExportPrecision.Int4)! with { Mix = m } : null,
        };
        CheckpointExporter.Export(DemoCheckpoint, dir, options);
        return dir;
    }
}
