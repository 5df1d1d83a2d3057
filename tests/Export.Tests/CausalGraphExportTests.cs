using Condensa.Export.Onnx;
using Condensa.TestSupport;

namespace Condensa.Export.Tests;

/// <summary>The causal graph the exporter writes beside the general one: its contract, and that it shares the weights.</summary>
[TestClass]
public sealed class CausalGraphExportTests
{
    [TestMethod]
    [DataRow(ExportPrecision.Fp32)]
    [DataRow(ExportPrecision.Int4)]
    public void Export_Llama_CausalGraphHasItsContractAndReadsTheGeneralGraphsWeightBytes(ExportPrecision precision)
    {
        using var tmp = new TempDir();
        var spec = new TinyModelSpec { Seed = 31 };
        TinyCheckpoint.Write(tmp.Sub("ckpt"), spec);
        var result = CheckpointExporter.Export(tmp.Sub("ckpt"), tmp.Sub("out"), new ExportOptions { Precision = precision });

        Assert.AreEqual(CheckpointExporter.CausalModelFileName, result.Manifest.CausalGraph);
        var causal = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(tmp.Sub("out"), CheckpointExporter.CausalModelFileName)));
        CollectionAssert.AreEqual(
            new[] { "input_ids", "position_ids", "logits_index", "seqlens_k", "total_sequence_length", "past.0.key", "past.0.value", "past.1.key", "past.1.value" },
            causal.Graph.Input.Select(i => i.Name).ToArray());
        CollectionAssert.AreEqual(
            new[] { "logits", "greedy_tokens", "present.0.key", "present.0.value", "present.1.key", "present.1.value" },
            causal.Graph.Output.Select(o => o.Name).ToArray());
        Assert.AreEqual(spec.NumLayers, causal.Graph.Node.Count(n => n.OpType == "GroupQueryAttention" && n.Domain == "com.microsoft"),
            "one fused attention node per layer");
        // float weights: q, k and v packed in one projection, which the node takes whole (no key or value input); the
        // default int4 mix keeps k and v at 8 bits, so there they are three projections
        var attention = causal.Graph.Node.First(n => n.OpType == "GroupQueryAttention");
        Assert.AreEqual(precision == ExportPrecision.Fp32, attention.Input[1] == "" && attention.Input[2] == "", "packed q/k/v");
        Assert.AreEqual("position_ids", attention.Input[9], "q and k rotate at the host's positions, not at the slots");

        // every weight the general graph keeps in model.onnx.data is read by the causal graph from the same bytes
        var general = ModelProto.Parser.ParseFrom(File.ReadAllBytes(result.ModelPath));
        var external = general.Graph.Initializer.Where(t => t.DataLocation == TensorProto.Types.DataLocation.External).ToList();
        Assert.IsNotEmpty(external);
        var causalByName = causal.Graph.Initializer.ToDictionary(t => t.Name);
        foreach (var weight in external)
        {
            Assert.IsTrue(causalByName.TryGetValue(weight.Name, out var shared), $"{weight.Name} is in the causal graph");
            CollectionAssert.AreEqual(weight.ExternalData.Select(e => $"{e.Key}={e.Value}").ToArray(),
                shared.ExternalData.Select(e => $"{e.Key}={e.Value}").ToArray(), $"{weight.Name} points at the same bytes");
        }
        Assert.IsFalse(causal.Graph.Initializer.Any(t => t.DataLocation != TensorProto.Types.DataLocation.External && t.RawData.Length >= OnnxWriter.ExternalThreshold),
            "no weight is stored a second time inline");
        Assert.HasCount(1, Directory.GetFiles(tmp.Sub("out"), "*.data"), "one weights file");
    }

    [TestMethod]
    [DataRow(2, true)]
    [DataRow(4, false)]
    public void Export_MultiRowCausalGraph_GroupsQueriesUnderABiasWithoutNonpadLengths(int kvHeads, bool grouped)
    {
        // ONNX Runtime 1.32's CUDA Attention drops attn_mask when nonpad_kv_seqlen is given, so the grouped form must not
        // pass both; the ungrouped form keeps the bottom-right causal flag within nonpad_kv_seqlen
        using var tmp = new TempDir();
        TinyCheckpoint.Write(tmp.Sub("ckpt"), new TinyModelSpec { NumHeads = 4, NumKvHeads = kvHeads, Seed = 33 });
        CheckpointExporter.Export(tmp.Sub("ckpt"), tmp.Sub("out"), new ExportOptions());
        var rows = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(tmp.Sub("out"), CheckpointExporter.CausalRowsModelFileName)));
        var attention = rows.Graph.Node.Where(n => n.OpType == "Attention").ToList();
        Assert.HasCount(2, attention, "one Attention node per layer");
        foreach (var node in attention)
        {
            var isCausal = node.Attribute.FirstOrDefault(a => a.Name == "is_causal")?.I ?? 0;
            if (grouped)
            {
                Assert.HasCount(4, node.Input, "q, k, v and the bias: no past inputs and no nonpad_kv_seqlen");
                Assert.AreNotEqual("", node.Input[3], "the grouped causal bias");
                Assert.AreEqual(0L, isCausal, "the bias carries the causal pattern of the grouped rows");
            }
            else
            {
                Assert.HasCount(7, node.Input);
                Assert.AreEqual("", node.Input[3], "no bias");
                Assert.AreNotEqual("", node.Input[6], "nonpad_kv_seqlen");
                Assert.AreEqual(1L, isCausal);
            }
        }
    }

    [TestMethod]
    [DataRow(ExportPrecision.Fp16, 2)]
    [DataRow(ExportPrecision.Fp32, 2)]
    [DataRow(ExportPrecision.Fp16, 4)]
    [DataRow(ExportPrecision.Fp32, 4)]
    public void Export_SlotsGraph_HasTheGeneralContractAndAttendsPerLayerOverTheWrittenCache(ExportPrecision precision, int kvHeads)
    {
        using var tmp = new TempDir();
        var spec = new TinyModelSpec { NumKvHeads = kvHeads, Seed = 34 };
        TinyCheckpoint.Write(tmp.Sub("ckpt"), spec);
        var result = CheckpointExporter.Export(tmp.Sub("ckpt"), tmp.Sub("out"), new ExportOptions { Precision = precision });

        Assert.AreEqual(CheckpointExporter.SlotsModelFileName, result.Manifest.SlotsGraph);
        var general = ModelProto.Parser.ParseFrom(File.ReadAllBytes(result.ModelPath));
        var slots = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(tmp.Sub("out"), CheckpointExporter.SlotsModelFileName)));
        CollectionAssert.AreEqual(general.Graph.Input.Select(i => i.Name).ToArray(), slots.Graph.Input.Select(i => i.Name).ToArray(), "the general inputs");
        CollectionAssert.AreEqual(general.Graph.Output.Select(o => o.Name).ToArray(), slots.Graph.Output.Select(o => o.Name).ToArray(), "the general outputs");
        // one Attention node a layer, but for a float32 model with a KV head per query head: MatMuls whose one-row scores
        // read the keys in blocks of slots, as ONNX Runtime's CUDA Attention takes a float32 query row's scores with a slow
        // GEMV (BlockScoresAttention)
        var blocks = precision == ExportPrecision.Fp32 && kvHeads == spec.NumHeads;
        var attention = slots.Graph.Node.Where(n => n.OpType == "Attention").ToList();
        Assert.HasCount(blocks ? 0 : spec.NumLayers, attention, "Attention nodes");
        Assert.AreEqual(blocks ? 1 : 0, slots.Graph.Node.Count(n => n.OpType == "Range"), "the block's identity, once per graph");
        for (var layer = 0; layer < spec.NumLayers; layer++)
        {
            // it reads the present buffers, i.e. after the layer's ScatterND wrote the pass's entries into their slots
            string[] present = [$"present.{layer}.key", $"present.{layer}.value"];
            if (blocks)
            {
                var readers = slots.Graph.Node.Where(n => n.Input.Any(present.Contains)).Select(n => n.OpType).Order().ToArray();
                CollectionAssert.AreEqual(new[] { "MatMul", "MatMul", "Reshape", "Reshape", "Transpose", "Transpose" }, readers,
                    "the keys viewed in blocks and transposed for the plain and the chunked products; the values' block and " +
                    "plain products, and their view in chunks of slots");
                continue;
            }
            CollectionAssert.AreEqual(present, attention[layer].Input.Skip(1).Take(2).ToArray());
            Assert.HasCount(4, attention[layer].Input, "q, k, v and the folded bias");
        }
        Assert.AreEqual(1, slots.Graph.Node.Count(n => n.OpType == "ScatterElements"), "the bias is folded onto the slots once per pass");
        if (!blocks) Assert.IsLessThan(general.Graph.Node.Count, slots.Graph.Node.Count, "fewer nodes than the general graph");
    }

    [TestMethod]
    public void Export_SlidingWindowModel_HasNoCausalGraphAndRemovesAStaleOne()
    {
        using var tmp = new TempDir();
        TinyCheckpoint.Write(tmp.Sub("ckpt"), new TinyModelSpec { Architecture = "mistral", SlidingWindow = 6, Seed = 32 });
        Directory.CreateDirectory(tmp.Sub("out"));
        File.WriteAllText(Path.Combine(tmp.Sub("out"), CheckpointExporter.CausalModelFileName), "from an earlier export");

        var result = CheckpointExporter.Export(tmp.Sub("ckpt"), tmp.Sub("out"), new ExportOptions());

        Assert.IsNull(result.Manifest.CausalGraph);
        Assert.IsFalse(File.Exists(Path.Combine(tmp.Sub("out"), CheckpointExporter.CausalModelFileName)));
        Assert.DoesNotContain("causal_graph", File.ReadAllText(result.ManifestPath));
    }
}
