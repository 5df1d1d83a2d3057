using System.Text.Json.Nodes;
using Condensa.Export;
using Condensa.TestSupport;

namespace Condensa.Runtime.Tests;

/// <summary>
/// longrope (Phi-3.5, Phi-4-mini) past its original context, on the tiny transformers phi3 fixture (longrope over 64 of 256
/// positions, partial rotary factor 0.5): transformers picks the short or long factors per forward call by the call's
/// largest position id and never re-rotates a cached key. The export's general graph reproduces that with its two-part
/// rotary tables; the causal graphs keep the short rows and the runtime sends them passes within the original context only.
/// Checked against the float64 <see cref="ReferenceModel"/>, whose rotation is written independently of the exporter.
/// </summary>
[TestClass]
public sealed class LongRopeTests
{
    private const int Original = 64;
    private const double Tolerance = 1e-4;
    private static string Checkpoint => GoldenCheckpoints.Phi3;

    private static readonly Lazy<ReferenceModel> Reference = new(() => new ReferenceModel(Checkpoint));

    [TestMethod]
    public void Export_Longrope_ReachesMaxPositionsAndStopsTheCausalGraphsAtTheOriginalContext()
    {
        var manifest = ModelManifest.Load(GoldenCheckpoints.Phi3Export);

        Assert.AreEqual(256, manifest.MaxContext, "max_position_embeddings, not the original context");
        Assert.AreEqual(Original, manifest.CausalMaxContext);
        Assert.IsNotNull(manifest.CausalGraph);
    }

    // One pass from position 0: transformers' seq_len is its length, so the long factors rotate every token from 65 on.
    [TestMethod]
    [DataRow(30, false)]
    [DataRow(64, false)]   // largest position 63
    [DataRow(65, true)]    // largest position 64 = original: seq_len 65 > 64
    [DataRow(100, true)]
    public void GeneralGraph_OnePass_LongFactorsExactlyWhenItsLargestPositionReachesTheOriginalContext(int length, bool longFactors)
    {
        using var model = DecoderModel.Load(GoldenCheckpoints.Phi3Export, new SessionSettings { FusedAttention = false });
        var ids = TinyModels.Ids(length, seed: 20, vocab: 256);
        using var cache = model.CreateCache(1);

        var logits = model.Forward(cache, ids, [length], LogitsSelection.All).ToArray();

        var expected = Reference.Value.Logits(ids, _ => longFactors);
        var other = Reference.Value.Logits(ids, _ => !longFactors);
        AssertRows(logits, expected, 0, length, $"{length} tokens");
        Assert.IsGreaterThan(100 * Tolerance, WorstError(logits, other, 0, length), "the other factors are told apart");
    }

    // transformers' choice is one per call over the whole batch (max of position_ids): a short row in a pass with a long
    // one is rotated with the long factors too; an idle row does not count.
    [TestMethod]
    public void GeneralGraph_BatchOfShortAndLongRows_WholePassTakesTheLongFactors()
    {
        using var model = DecoderModel.Load(GoldenCheckpoints.Phi3Export, new SessionSettings { FusedAttention = false });
        var a = TinyModels.Ids(15, seed: 21, vocab: 256);
        var b = TinyModels.Ids(70, seed: 22, vocab: 256);
        using var cache = model.CreateCache(2);
        var vocab = model.Manifest.VocabSize;

        // 1) row b's first 60 tokens, row a idle: largest position 59, short
        model.Forward(cache, Batch(60, [], b[..60]), [0, 60], LogitsSelection.LastPerRow);
        // 2) a at 0..9 and b at 60..69 in one pass: largest position 69, long for both rows
        var second = model.Forward(cache, Batch(10, a[..10], b[60..70]), [10, 10], LogitsSelection.All).ToArray();
        // 3) a at 10..14, b idle at length 70: largest position 14, short again (a's cached keys stay long-rotated)
        var third = model.Forward(cache, Batch(5, a[10..15], []), [5, 0], LogitsSelection.All).ToArray();

        var refA = Reference.Value.Logits(a, t => t < 10);
        var refB = Reference.Value.Logits(b, t => t >= 60);
        for (var j = 0; j < 10; j++)
        {
            Assert.IsLessThan(Tolerance, TinyModels.RelativeError(second.AsSpan(j * vocab, vocab), refA[j]), $"row a position {j}");
            Assert.IsLessThan(Tolerance, TinyModels.RelativeError(second.AsSpan((10 + j) * vocab, vocab), refB[60 + j]), $"row b position {60 + j}");
        }
        for (var j = 0; j < 5; j++)
            Assert.IsLessThan(Tolerance, TinyModels.RelativeError(third.AsSpan(j * vocab, vocab), refA[10 + j]), $"row a position {10 + j}");
    }

    // Cached decoding across the original context: a 58-token prompt (short), then one token per pass; from position 64
    // each pass's largest position reaches the original context, so its token is rotated long and the causal graph,
    // which reads only the short rows, hands over to the general graph (to the slots graph, over the general graph's
    // inputs, where fused attention is forced on).
    [TestMethod]
    [DataRow(null)]
    [DataRow(true)]
    [DataRow(false)]
    public void Decode_CrossingTheOriginalContext_MatchesPerCallSwitchingAndLeavesTheCausalGraph(bool? fusedAttention)
    {
        using var model = DecoderModel.Load(GoldenCheckpoints.Phi3Export, new SessionSettings { FusedAttention = fusedAttention });
        Assert.AreEqual(fusedAttention != false, model.FusedAttention);
        var ids = TinyModels.Ids(78, seed: 23, vocab: 256);
        var expected = Reference.Value.Logits(ids, longFrom: Original);
        using var cache = model.CreateCache(1);

        var prefill = model.Forward(cache, ids[..58], [58], LogitsSelection.All).ToArray();
        AssertRows(prefill, expected, 0, 58, "prompt");
        for (var p = 58; p < ids.Length; p++)
        {
            var logits = model.Forward(cache, ids[p..(p + 1)], [1], LogitsSelection.LastPerRow).ToArray();
            Assert.IsLessThan(Tolerance, TinyModels.RelativeError(logits, expected[p]), $"position {p}");
            if (fusedAttention != false)
                Assert.AreEqual(p >= Original, fusedAttention == true ? model.SlotsGraphLoaded : model.GeneralGraphLoaded,
                    $"the causal graph handed over after position {p}");
        }
    }

    // The multi-row causal graph (several tokens in several rows) too: passes within the original context run there,
    // the pass that reaches past it runs the slots graph, which rotates with the general graph's long factors.
    [TestMethod]
    public void CausalRows_PassReachingTheOriginalContext_TakesTheSlotsGraph()
    {
        using var model = DecoderModel.Load(GoldenCheckpoints.Phi3Export, new SessionSettings { FusedAttention = true });
        var rows = new[] { TinyModels.Ids(70, seed: 24, vocab: 256), TinyModels.Ids(70, seed: 25, vocab: 256) };
        var expected = rows.Select(r => Reference.Value.Logits(r, longFrom: 60)).ToArray();
        using var cache = model.CreateCache(2);
        var vocab = model.Manifest.VocabSize;

        foreach (var (from, to) in new[] { (0, 30), (30, 60), (60, 70) })
        {
            int s = to - from;
            var logits = model.Forward(cache, Batch(s, rows[0][from..to], rows[1][from..to]), [s, s], LogitsSelection.All).ToArray();
            for (var r = 0; r < 2; r++)
                AssertRows(logits.AsSpan(r * s * vocab, s * vocab).ToArray(), expected[r], from, s, $"row {r}, pass {from}..{to - 1}");
            Assert.AreEqual(to > Original, model.SlotsGraphLoaded, $"slots graph after the pass {from}..{to - 1}");
        }
        Assert.IsTrue(model.CausalRowsGraphLoaded);
        Assert.IsFalse(model.GeneralGraphLoaded);
    }

    // Within the original context nothing changes: the longrope export's passes are bit for bit those of an export that
    // has no long rows at all (the same checkpoint at max_position_embeddings = original, with the same attention factor).
    [TestMethod]
    public void GeneralGraph_ShortPass_BitIdenticalToAnExportWithoutLongRows()
    {
        var shortCheckpoint = Directory.CreateTempSubdirectory("condensa-longrope-short-").FullName;
        foreach (var file in Directory.GetFiles(Checkpoint)) File.Copy(file, Path.Combine(shortCheckpoint, Path.GetFileName(file)));
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(Checkpoint, "config.json")))!;
        config["max_position_embeddings"] = Original;
        config["rope_parameters"]!["attention_factor"] = Math.Sqrt(1 + Math.Log(256.0 / Original) / Math.Log(Original));
        File.WriteAllText(Path.Combine(shortCheckpoint, "config.json"), config.ToJsonString());
        var shortExport = Path.Combine(shortCheckpoint, "export");
        var shortManifest = CheckpointExporter.Export(shortCheckpoint, shortExport, new ExportOptions()).Manifest;
        Assert.AreEqual(Original, shortManifest.MaxContext);
        Assert.IsNull(shortManifest.CausalMaxContext);

        var ids = TinyModels.Ids(Original, seed: 26, vocab: 256);
        float[] Run(string export)
        {
            using var model = DecoderModel.Load(export, new SessionSettings { FusedAttention = false });
            using var cache = model.CreateCache(1);
            var prompt = model.Forward(cache, ids[..40], [40], LogitsSelection.All).ToArray();
            var steps = new List<float>(prompt);
            for (var p = 40; p < Original; p++)
                steps.AddRange(model.Forward(cache, ids[p..(p + 1)], [1], LogitsSelection.LastPerRow).ToArray());
            return [.. steps];
        }

        CollectionAssert.AreEqual(Run(shortExport), Run(GoldenCheckpoints.Phi3Export));
    }

    private static int[] Batch(int s, int[] a, int[] b)
    {
        var tokens = new int[2 * s];
        a.CopyTo(tokens, 0);
        b.CopyTo(tokens, s);
        return tokens;
    }

    private static void AssertRows(float[] logits, double[][] expected, int from, int count, string what)
    {
        var vocab = expected[0].Length;
        for (var j = 0; j < count; j++)
            Assert.IsLessThan(Tolerance, TinyModels.RelativeError(logits.AsSpan(j * vocab, vocab), expected[from + j]), $"{what}: position {from + j}");
    }

    private static double WorstError(float[] logits, double[][] expected, int from, int count)
    {
        var vocab = expected[0].Length;
        return Enumerable.Range(0, count).Max(j => TinyModels.RelativeError(logits.AsSpan(j * vocab, vocab), expected[from + j]));
    }
}
