namespace Condensa.Export.Tests;

[TestClass]
public sealed class LckvConfigTests
{
    // The fields tools/train/lckv.py writes (hf_config), trimmed to what matters.
    private const string Config = """
        {"architectures": ["LCKVLlamaForCausalLM"], "model_type": "lckv_llama", "vocab_size": 4096, "hidden_size": 256,
         "intermediate_size": 896, "num_hidden_layers": 8, "num_attention_heads": 4, "num_key_value_heads": 2,
         "head_dim": 64, "max_position_embeddings": 2048, "rms_norm_eps": 1e-05, "rope_theta": 10000.0,
         "rope_scaling": null, "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0},
         "attention_bias": false, "mlp_bias": false, "tie_word_embeddings": false, "bos_token_id": 1, "eos_token_id": 2,
         "torch_dtype": "float16", "dtype": "float16", "layer_types": "0_6_6_6_6_6_6_7s", "forward_passes": 7,
         "backward_passes": 2, "sliding_window": 4096, "use_sequential": false, "force_nodiag": true}
        """;

    [TestMethod]
    public void Parse_LckvConfig_ReadsLayerTypesPassesAndWindow()
    {
        var config = HfConfig.Parse(Config);
        var lckv = config.Lckv!;
        CollectionAssert.AreEqual(new[] { 0, 6, 7 }, lckv.Condensation.StoredLayers.ToArray());
        Assert.IsTrue(lckv.ForceNodiag);
        Assert.AreEqual(9, lckv.IterativePasses);
        Assert.AreEqual(4096, lckv.Window(7));
        Assert.IsNull(lckv.Window(6));
        Assert.IsNull(config.SlidingWindow, "LCKV windows are per layer, never the host's global window");
        Assert.IsTrue(lckv.NoDiagonal(0), "force_nodiag removes every diagonal");
    }

    [TestMethod]
    [DataRow("", false)]
    [DataRow(", \"lckv_released_decode\": true", true)]
    [DataRow(", \"lckv_released_decode\": false", false)]
    public void Parse_ReleasedDecode_OptInOnly(string field, bool expected)
    {
        var lckv = HfConfig.Parse(Config.Replace("\"force_nodiag\": true", "\"force_nodiag\": true" + field)).Lckv!;
        Assert.AreEqual(expected, lckv.ReleasedDecode);
    }

    [TestMethod]
    public void Parse_WithoutForceNodiag_OnlyAttendsTopLayersLoseTheDiagonal()
    {
        var lckv = HfConfig.Parse(Config.Replace("\"force_nodiag\": true", "\"force_nodiag\": false")).Lckv!;
        Assert.IsFalse(lckv.NoDiagonal(0));
        Assert.IsTrue(lckv.NoDiagonal(1));
        Assert.IsFalse(lckv.NoDiagonal(6));
    }

    [TestMethod]
    public void Parse_LlamaWithLayerTypesList_IsNotLckv()
    {
        // transformers' own layer_types (a list of attention kinds) must not be taken for LCKV's string.
        string llama = Config.Replace("LCKVLlamaForCausalLM", "LlamaForCausalLM")
            .Replace("\"0_6_6_6_6_6_6_7s\"", "[\"full_attention\"]");
        Assert.IsNull(HfConfig.Parse(llama).Lckv);
    }

    [TestMethod]
    [DataRow("\"layer_types\": \"0_6_6_6_6_6_6_7s\"", "\"layer_types\": \"0_6_6_6_6_6_7\"", "has 7 entries")]
    [DataRow("\"layer_types\": \"0_6_6_6_6_6_6_7s\"", "\"layer_types\": \"0_6_6_6_6_6_6_8\"", "outside 0..7")]
    [DataRow("\"layer_types\": \"0_6_6_6_6_6_6_7s\"", "\"layer_types\": \"0_6_6_6_6_6_6_7w\"", "'7w'")]
    [DataRow("\"layer_types\": \"0_6_6_6_6_6_6_7s\"", "\"layer_types\": [0, 6]", "should be a string")]
    [DataRow("\"layer_types\": \"0_6_6_6_6_6_6_7s\", ", "", "needs field 'layer_types'")]
    [DataRow("\"forward_passes\": 7", "\"forward_passes\": -1", "forward_passes -1")]
    [DataRow("\"sliding_window\": 4096", "\"sliding_window\": 0", "'sliding_window' should be at least 1")]
    public void Parse_MalformedLckvField_ClearError(string field, string replacement, string expected)
    {
        var e = Assert.ThrowsExactly<ExportException>(() => HfConfig.Parse(Config.Replace(field, replacement), "m/config.json"));
        StringAssert.Contains(e.Message, "m/config.json");
        StringAssert.Contains(e.Message, expected);
    }
}
