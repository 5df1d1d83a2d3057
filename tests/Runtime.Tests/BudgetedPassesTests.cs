using Condensa.Export;
using Condensa.TestSupport;
using static Condensa.Runtime.Tests.AttentionGraphSettings;

namespace Condensa.Runtime.Tests;

/// <summary>
/// A budgeted (sink + window) cache's passes on the attention graphs against the general graph on the CPU provider: decode
/// steps on the causal graph and chunks within the slack at batch &gt; 1 on the multi-row causal graph, both rotating at
/// the host's positions while the row's slots are not its positions, and passes at explicit positions on the slots graph,
/// as the rows drop their oldest entries again and again.
/// </summary>
[TestClass]
public sealed class BudgetedPassesTests
{
    [TestMethod]
    [DataRow("llama", ExportPrecision.Fp32, 1e-4f)]
    [DataRow("qwen2", ExportPrecision.Fp32, 1e-4f)]
    [DataRow("qwen2", ExportPrecision.Fp16, 2e-2f)]   // the floor of a row that admits nothing is float16's lowest value
    public void Forward_BudgetedRaggedBatchPastItsSlots_EqualsGeneralGraph(string name, ExportPrecision precision, float tolerance)
    {
        var (_, export) = TinyModels.Get(name, precision, swiGlu: false);   // SwiGLU's kernel is the CUDA provider's alone
        var budget = new KvCacheOptions { Budget = new KvBudget(Sinks: 2, Window: 5, Slack: 3) };   // 10 slots a row
        using var models = new FusedAndGeneral(export, 3, budget, tolerance);
        var (pair, fused, a, c) = (models.Passes, models.Fused, models.FusedCache, models.GeneralCache);
        Assert.IsNotNull(fused.Manifest.SlotsGraph, "the export has the slots graph");

        pair.AssertSame(RaggedPrompts(), [7, 3, 5], "ragged prefill");   // longer than the slack: the general graph on both
        Assert.AreEqual(0, fused.CausalPasses + fused.SlotsPasses, "a pass longer than the slack leaves its entries to the host");
        var (causal, slots) = (0, 0);
        for (var step = 0; step < 18; step++)
        {
            // decode steps with row 1 idle every other step, every third step a chunk of 3 and 2 tokens (a draft's
            // verification within the slack), and every fourth pass at explicit positions (a tree's kind): each row drops its
            // oldest entries several times
            var seqLen = step % 3 == 2 ? 3 : 1;
            var next = new int[3 * seqLen];
            for (var i = 0; i < next.Length; i++) next[i] = 3 + (29 * step + 11 * i) % 300;
            int[] counts = seqLen == 1 ? [1, step % 2, 1] : [3, 2, 0];
            var inputs = new ForwardInputs(next, counts, LogitsSelection.All);
            if (step % 4 == 3) inputs = inputs with { Positions = NextPositions(c, counts, seqLen) };
            pair.AssertSame(inputs, $"step {step}");
            if (step % 4 == 3) slots++;
            else causal++;
            Assert.AreEqual(causal, fused.CausalPasses, $"step {step}: the causal graphs take the pass at the rows' next positions");
            Assert.AreEqual(slots, fused.SlotsPasses, $"step {step}: the slots graph takes the pass at explicit positions");
        }
        Assert.IsTrue(fused.CausalRowsGraphLoaded, "chunks at batch 3 ran the multi-row causal graph");
        CollectionAssert.AreEqual(c.Lengths.ToArray(), a.Lengths.ToArray());
        CollectionAssert.AreEqual(c.Fills.ToArray(), a.Fills.ToArray());
        Assert.IsTrue(a.Fills.ToArray().Zip(a.Lengths.ToArray()).All(r => r.First < r.Second), "every row dropped old positions");
    }

    [TestMethod]
    public void Forward_ExportWhoseCausalGraphPredatesPositionIds_KeepsPlainPassesCausalAndBudgetsOffIt()
    {
        // an export made before exporter 15: its causal graph has no position_ids (GroupQueryAttention rotates at the slots
        // seqlens_k gives), so the host binds none, and a budget, whose slots are not its positions, keeps the general graph
        var export = OlderExports.WithoutCausalPositionIds(TinyModels.Get("qwen2").Export);
        try
        {
            using var old = DecoderModel.Load(export);
            using var general = DecoderModel.Load(export, General);
            using var a = old.CreateCache(1);
            using var c = general.CreateCache(1);
            var pair = new PassPair(general, c, old, a, 1e-4f);
            pair.AssertSame(TinyModels.Ids(6, 4), [6], "prefill");
            pair.AssertSame([7], [1], "decode step");
            Assert.AreEqual(2, old.CausalPasses, "a cache that keeps every position still runs the causal graph");

            var budget = new KvCacheOptions { Budget = new KvBudget(Sinks: 1, Window: 3, Slack: 2) };
            using var b = old.CreateCache(1, budget);
            using var d = general.CreateCache(1, budget);
            var budgeted = new PassPair(general, d, old, b, 1e-4f);
            for (var t = 0; t < 8; t++) budgeted.AssertSame([3 + 5 * t], [1], $"budgeted step {t}");
            Assert.AreEqual(2, old.CausalPasses, "the budget's steps took the general graph");
        }
        finally
        {
            Directory.Delete(export, recursive: true);
        }
    }

    [TestMethod]
    [DataRow(64, 4, 2, true)]     // demo-code
    [DataRow(64, 32, 4, true)]    // the 1.1B shape: a group of 8
    [DataRow(96, 32, 32, false)]  // Phi-3's head size: flash decoding, which rotates at the rows' lengths
    [DataRow(128, 28, 4, false)]  // a group of 7 does not divide 64
    public void XqaDecodes_TheShapesCudaGroupQueryAttentionTakesWithXqa(int headDim, int heads, int kvHeads, bool xqa)
    {
        var manifest = TestManifests.Small() with { HeadDim = headDim, NumHeads = heads, NumKvHeads = kvHeads };
        Assert.AreEqual(xqa, DecoderModel.XqaDecodes(manifest));
    }

    // each row's next positions, its last real one repeated for padding (and 0 for an idle row)
    private static long[] NextPositions(KvCache cache, int[] counts, int seqLen)
    {
        var positions = new long[counts.Length * seqLen];
        for (var b = 0; b < counts.Length; b++)
        for (var j = 0; j < seqLen; j++)
            positions[b * seqLen + j] = counts[b] == 0 ? 0 : cache.Lengths[b] + Math.Min(j, counts[b] - 1);
        return positions;
    }

    private static int[] RaggedPrompts()
    {
        int[][] prompts = [TinyModels.Ids(7, 1), TinyModels.Ids(3, 2), TinyModels.Ids(5, 3)];
        var tokens = new int[3 * 7];
        for (var b = 0; b < 3; b++) prompts[b].CopyTo(tokens, b * 7);
        return tokens;
    }
}
