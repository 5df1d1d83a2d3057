using System.Text.Json;

namespace Condensa.Runtime.Tests;

[TestClass]
public sealed class ModelManifestTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void Load_Condensed_ReportsStoredAndStandardBytesPerToken()
    {
        var manifest = TestManifests.Small() with { NumLayers = 4, KvLayers = [0, 3], LayerKvSource = [0, 3, 3, 3] };
        var loaded = ModelManifest.Load(Write(manifest));
        Assert.AreEqual(2L * 2 * 1 * 4 * 4, loaded.KvBytesPerToken);
        Assert.AreEqual(2L * 4 * 1 * 4 * 4, loaded.StandardKvBytesPerToken);
    }

    [TestMethod]
    [DataRow("num_kv_heads", 3)]
    [DataRow("format", 2)]
    [DataRow("max_context", 0)]
    [DataRow("causal_max_context", 0)]
    [DataRow("causal_max_context", 65)]   // past max_context 64
    public void Load_InvalidField_NamesField(string field, int value)
    {
        var json = JsonSerializer.SerializeToNode(TestManifests.Small())!.AsObject();
        json[field] = value;
        var dir = Folder();
        File.WriteAllText(Path.Combine(dir, ModelManifest.FileName), json.ToJsonString());
        var e = Assert.ThrowsExactly<CondensaException>(() => ModelManifest.Load(dir));
        StringAssert.Contains(e.Message, $"'{field}'");
    }

    [TestMethod]
    public void Load_UnknownSourceLayer_NamesLayerKvSource()
    {
        var dir = Write(TestManifests.Small() with { LayerKvSource = [0, 5] });
        var e = Assert.ThrowsExactly<CondensaException>(() => ModelManifest.Load(dir));
        StringAssert.Contains(e.Message, "layer_kv_source");
    }

    [TestMethod]
    public void Load_MissingFile_SaysNotAnExport()
    {
        var e = Assert.ThrowsExactly<CondensaException>(() => ModelManifest.Load(Folder()));
        StringAssert.Contains(e.Message, "not a Condensa export");
    }

    [TestMethod]
    public void ToJson_EveryField_KeepsTheLayoutExportsHave()
    {
        // Field order, nulls written and fields left out are part of every export's condensa.json: a change here changes
        // the exporter's output and must come with an exporter version.
        Assert.AreEqual(FullJson.ReplaceLineEndings(), Full().ToJson().ReplaceLineEndings());
    }

    [TestMethod]
    public void Load_WhatToJsonWrote_ReadsBackEveryField()
    {
        var dir = Folder();
        File.WriteAllText(Path.Combine(dir, ModelManifest.FileName), Full().ToJson());
        var loaded = ModelManifest.Load(dir);
        Assert.AreEqual(FullJson.ReplaceLineEndings(), loaded.ToJson().ReplaceLineEndings());
        Assert.AreEqual(new ManifestRope("llama3", 500000.0), loaded.Rope);
        Assert.AreEqual(new ManifestKvOps("kv_write.onnx", "kv_zeros.onnx", "kv_copy.onnx"), loaded.KvOps);
    }

    [TestMethod]
    public void ToJson_StandardModel_LeavesOutCausalGraphAndUseSequential()
    {
        var json = (Full() with { CausalGraph = null, UseSequential = false }).ToJson();
        StringAssert.DoesNotMatch(json, new System.Text.RegularExpressions.Regex("causal_graph|use_sequential"));
    }

    [TestMethod]
    public void ToJson_CausalMaxContext_WrittenWhenSetAndReadBack()
    {
        var manifest = TestManifests.Small() with { CausalMaxContext = 32 };
        var dir = Write(manifest);
        StringAssert.Contains(manifest.ToJson(), "\"causal_max_context\": 32");
        Assert.AreEqual(32, ModelManifest.Load(dir).CausalMaxContext);
        Assert.IsNull(ModelManifest.Load(Write(TestManifests.Small())).CausalMaxContext, "older manifests have none");
    }

    private static ModelManifest Full() => TestManifests.Small() with
    {
        NumLayers = 3,
        KvLayers = [0, 2],
        LayerKvSource = [0, 2, 2],
        ForwardPasses = 7,
        BackwardPasses = 2,
        ForceNodiag = true,
        UseSequential = true,
        LayerSlidingWindow = [null, 16, null],
        Rope = new ManifestRope("llama3", 500000.0),
        WeightQuantization = new ManifestQuantization(4, 32, 4, true, "kv-head"),
        BosTokenId = 1,
        EosTokenIds = [2, 9],
        TokenizerFiles = ["tokenizer.json"],
        CausalGraph = "model.causal.onnx",
        KvOps = new ManifestKvOps("kv_write.onnx", "kv_zeros.onnx", "kv_copy.onnx"),
        CheckpointFingerprint = "abc",
        ExporterVersion = 7,
    };

    private const string FullJson = """
        {
          "format": 1,
          "architecture": "LlamaForCausalLM",
          "dtype": "float32",
          "vocab_size": 10,
          "hidden_size": 8,
          "num_layers": 3,
          "num_heads": 2,
          "num_kv_heads": 1,
          "head_dim": 4,
          "max_context": 64,
          "sliding_window": null,
          "kv_layers": [
            0,
            2
          ],
          "layer_kv_source": [
            0,
            2,
            2
          ],
          "forward_passes": 7,
          "backward_passes": 2,
          "force_nodiag": true,
          "use_sequential": true,
          "layer_sliding_window": [
            null,
            16,
            null
          ],
          "rope": {
            "type": "llama3",
            "theta": 500000
          },
          "weight_quantization": {
            "bits": 4,
            "block_size": 32,
            "accuracy_level": 4,
            "lm_head": true,
            "int4_mix": "kv-head"
          },
          "bos_token_id": 1,
          "eos_token_ids": [
            2,
            9
          ],
          "tokenizer_files": [
            "tokenizer.json"
          ],
          "graph": "model.onnx",
          "causal_graph": "model.causal.onnx",
          "kv_ops": {
            "write": "kv_write.onnx",
            "zeros": "kv_zeros.onnx",
            "copy": "kv_copy.onnx"
          },
          "checkpoint_fingerprint": "abc",
          "exporter_version": 7
        }
        """;

    private string Write(ModelManifest manifest)
    {
        var dir = Folder();
        File.WriteAllText(Path.Combine(dir, ModelManifest.FileName), JsonSerializer.Serialize(manifest));
        return dir;
    }

    private string Folder()
    {
        var dir = Path.Combine(TestContext.TestRunDirectory ?? Path.GetTempPath(), Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}
