namespace Condensa.Export.Tests;

[TestClass]
public sealed class HfConfigTests
{
    private const string V4 = """
        {"architectures": ["LlamaForCausalLM"], "hidden_size": 2048, "intermediate_size": 8192,
         "num_attention_heads": 32, "num_key_value_heads": 8, "num_hidden_layers": 16, "rms_norm_eps": 1e-05,
         "vocab_size": 128256, "max_position_embeddings": 131072, "tie_word_embeddings": true,
         "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009], "head_dim": 64,
         "rope_theta": 500000.0, "torch_dtype": "bfloat16",
         "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                          "original_max_position_embeddings": 8192, "rope_type": "llama3"}}
        """;

    private const string V5 = """
        {"architectures": ["LlamaForCausalLM"], "hidden_size": 2048, "intermediate_size": 8192,
         "num_attention_heads": 32, "num_key_value_heads": 8, "num_hidden_layers": 16, "rms_norm_eps": 1e-05,
         "vocab_size": 128256, "max_position_embeddings": 131072, "tie_word_embeddings": true,
         "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009], "head_dim": 64, "dtype": "bfloat16",
         "rope_parameters": {"rope_theta": 500000.0, "factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                             "original_max_position_embeddings": 8192, "rope_type": "llama3"}}
        """;

    // Phi-4-mini's shape of rope fields (transformers 5): longrope over 3/4 of each 128-dim head, 4,096 of 131,072 positions.
    private static string Phi(string shortFactor, double partial = 0.75) => $$$"""
        {"architectures": ["Phi3ForCausalLM"], "hidden_size": 3072, "intermediate_size": 8192, "num_attention_heads": 24,
         "num_key_value_heads": 8, "num_hidden_layers": 32, "vocab_size": 200064, "max_position_embeddings": 131072,
         "partial_rotary_factor": {{{partial.ToString(System.Globalization.CultureInfo.InvariantCulture)}}}, "tie_word_embeddings": true,
         "rope_parameters": {"rope_type": "longrope", "rope_theta": 10000.0, "original_max_position_embeddings": 4096,
                             "short_factor": {{{shortFactor}}}, "long_factor": {{{shortFactor}}}}}
        """;

    [TestMethod]
    public void Parse_Longrope_PartialRotaryAttentionFactorAndExactRange()
    {
        var factors = "[" + string.Join(", ", Enumerable.Range(0, 48).Select(i => (1 + i / 10.0).ToString(System.Globalization.CultureInfo.InvariantCulture))) + "]";
        var rope = HfConfig.Parse(Phi(factors)).Rope;
        Assert.AreEqual("longrope", rope.Type);
        Assert.AreEqual(96, rope.RotaryDim(128));
        Assert.AreEqual(Math.Sqrt(1 + Math.Log(32) / Math.Log(4096)), rope.AttentionFactor, 1e-12);
        Assert.AreEqual(4096, rope.LongRowsOffset(131072), "the long rows follow the original context's short ones");
        Assert.AreEqual(4096 + 131072 + RopeSettings.PaddingRows, rope.TableRows(131072));
        Assert.IsNull(rope.LongRowsOffset(4096), "no long rows within the original context");
        var inv = rope.InverseFrequencies(128);
        Assert.HasCount(48, inv);
        Assert.AreEqual(1.0 / (1.1 * Math.Pow(10000.0, 2.0 / 96)), inv[1], 1e-15);
    }

    [TestMethod]
    public void Parse_LongropeFactorsOfTheWrongLength_NameTheField()
    {
        var error = Assert.ThrowsExactly<ExportException>(() => HfConfig.Parse(Phi("[1.0, 2.0]")));
        StringAssert.Contains(error.Message, "'short_factor' has 2 entries");
        StringAssert.Contains(error.Message, "needs 48");
        var odd = Assert.ThrowsExactly<ExportException>(() => HfConfig.Parse(Phi("[1.0]", partial: 0.2)));
        StringAssert.Contains(odd.Message, "partial_rotary_factor");
    }

    [TestMethod]
    [DataRow(""", "long_factor": [1.0, 2.0]}""", "'long_factor' has 2 entries")]
    [DataRow("}", "required field 'long_factor' is missing")]
    [DataRow(""", "long_factor": "x"}""", "field 'long_factor' should be a list of numbers")]
    public void Parse_LongropeLongFactorMissingOrShort_NamesTheField(string longFactor, string expected)
    {
        var factors = "[" + string.Join(", ", Enumerable.Repeat("1.0", 48)) + "]";
        var json = Phi(factors);
        json = json[..json.LastIndexOf(", \"long_factor\"", StringComparison.Ordinal)] + longFactor + "}";

        var error = Assert.ThrowsExactly<ExportException>(() => HfConfig.Parse(json));

        StringAssert.Contains(error.Message, expected);
        StringAssert.Contains(error.Message, "rope_parameters");
    }

    [TestMethod]
    public void Parse_V4AndV5Layouts_GiveSameConfig()
    {
        var v4 = HfConfig.Parse(V4);
        var v5 = HfConfig.Parse(V5);

        Assert.AreEqual(new RopeSettings("llama3", 500000.0, 32.0, 1.0, 4.0, 8192), v4.Rope);
        Assert.AreEqual(v4.Rope, v5.Rope);
        Assert.AreEqual("bfloat16", v4.Dtype);
        Assert.AreEqual("bfloat16", v5.Dtype);
        CollectionAssert.AreEqual(new[] { 128001, 128008, 128009 }, v5.EosTokenIds.ToArray());
        Assert.AreEqual(8, v5.NumKvHeads);
        Assert.AreEqual(64, v5.HeadDim);
        Assert.IsTrue(v5.TieWordEmbeddings);
        Assert.AreEqual(128000, v5.BosTokenId);
    }

    [TestMethod]
    public void Parse_MinimalLlama_AppliesTransformersDefaults()
    {
        var c = HfConfig.Parse("""
            {"architectures": ["LlamaForCausalLM"], "hidden_size": 64, "intermediate_size": 96,
             "num_attention_heads": 4, "num_hidden_layers": 2, "vocab_size": 320, "eos_token_id": 2,
             "rope_scaling": null, "head_dim": null}
            """);

        Assert.AreEqual(4, c.NumKvHeads);
        Assert.AreEqual(16, c.HeadDim);
        Assert.AreEqual(new RopeSettings("default", 10000.0), c.Rope);
        CollectionAssert.AreEqual(new[] { 2 }, c.EosTokenIds.ToArray());
        Assert.IsNull(c.SlidingWindow);
        Assert.IsFalse(c.AttentionBias);
    }

    [TestMethod]
    [DataRow("""{"use_sliding_window": false, "sliding_window": 4096, "max_window_layers": 28}""", null)]
    [DataRow("""{"use_sliding_window": true, "sliding_window": 4096, "max_window_layers": 0}""", 4096)]
    [DataRow("""{"use_sliding_window": true, "sliding_window": 4096, "max_window_layers": 2}""", null)]
    public void Parse_Qwen2SlidingWindow_OnlyWhenEveryLayerSlides(string extra, int? expected)
    {
        var c = HfConfig.Parse(MinimalConfig.Json("Qwen2ForCausalLM", extra));

        Assert.AreEqual(expected, c.SlidingWindow);
    }

    [TestMethod]
    public void Parse_MistralSlidingWindow_IsKept()
    {
        var c = HfConfig.Parse(MinimalConfig.Json("MistralForCausalLM", """{"sliding_window": 4096}"""));

        Assert.AreEqual(4096, c.SlidingWindow);
    }

    // Each family with a rope type the exporter does not implement, in the layout its configs use: the message names the
    // object, the field and the value.
    [TestMethod]
    [DataRow("LlamaForCausalLM", """{"rope_scaling": {"rope_type": "yarn", "factor": 4.0}}""",
        "config.json: rope_scaling: field 'rope_type' is 'yarn'")]
    [DataRow("Qwen3ForCausalLM", """{"rope_scaling": {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32768}}""",
        "config.json: rope_scaling: field 'rope_type' is 'yarn'")]
    [DataRow("Qwen3ForCausalLM", """{"rope_parameters": {"rope_type": "dynamic", "rope_theta": 10000.0}}""",
        "config.json: rope_parameters: field 'rope_type' is 'dynamic'")]
    [DataRow("Phi3ForCausalLM", """{"rope_scaling": {"type": "su", "short_factor": [1.0], "long_factor": [1.0]}}""",
        "config.json: rope_scaling: field 'type' is 'su'")]
    [DataRow("Gemma2ForCausalLM", """{"rope_scaling": {"rope_type": "yarn", "factor": 2.0}}""",
        "config.json: rope_scaling: field 'rope_type' is 'yarn'")]
    [DataRow("Gemma3ForCausalLM", """{"rope_parameters": {"full_attention": {"rope_type": "default"}, "sliding_attention": {"rope_type": "dynamic"}}}""",
        "config.json: rope_parameters.sliding_attention: field 'rope_type' is 'dynamic'")]
    [DataRow("Gemma3ForCausalLM", """{"rope_parameters": {"full_attention": {"rope_type": "yarn", "factor": 8.0}, "sliding_attention": {"rope_type": "default"}}}""",
        "config.json: rope_parameters.full_attention: field 'rope_type' is 'yarn'")]
    public void Parse_UnsupportedRopeType_ThrowsNamingFieldAndValue(string architecture, string extra, string expected)
    {
        var e = Assert.ThrowsExactly<ExportException>(() => HfConfig.Parse(MinimalConfig.Json(architecture, extra)));

        StringAssert.StartsWith(e.Message, expected);
        StringAssert.Contains(e.Message, "supported: default, linear, llama3, longrope.");
    }

    [TestMethod]
    [DataRow("Gemma2ForCausalLM", "{}", "S,F,S,F,S,F,S")]                               // transformers: layer 0 slides, then alternate
    [DataRow("Gemma3ForCausalLM", "{}", "S,S,S,S,S,F,S")]                               // every 6th layer full
    [DataRow("Gemma3ForCausalLM", """{"sliding_window_pattern": 2}""", "S,F,S,F,S,F,S")]
    [DataRow("Gemma3ForCausalLM", """{"_sliding_window_pattern": 3}""", "S,S,F,S,S,F,S")]
    [DataRow("Qwen3ForCausalLM", "{}", null)]                                           // not Gemma: no kinds at all
    public void Parse_GemmaWithoutLayerTypes_DerivesTransformersPattern(string architecture, string extra, string? expected)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(MinimalConfig.Json(architecture, extra))!.AsObject();
        node["num_hidden_layers"] = 7;

        var kinds = HfConfig.Parse(node.ToJsonString()).AttentionKinds;

        Assert.AreEqual(expected, kinds is null ? null : string.Join(",", kinds.Select(k => k == "full_attention" ? "F" : "S")));
    }

    // Gemma 3's configs as published (transformers 4): rope_scaling is the full layers' only, rope_local_base_freq the
    // sliding layers' plain base (transformers builds the local rotary embedding with rope_type default).
    [TestMethod]
    public void Parse_Gemma3TransformersV4_LocalRopeFromRopeLocalBaseFreq()
    {
        var c = HfConfig.Parse(MinimalConfig.Json("Gemma3ForCausalLM", """
            {"rope_theta": 1000000.0, "rope_local_base_freq": 10000.0, "rope_scaling": {"rope_type": "linear", "factor": 8.0}}
            """));

        Assert.AreEqual(new RopeSettings("linear", 1000000.0, 8.0), c.Rope);
        Assert.AreEqual(new RopeSettings("default", 10000.0), c.LocalRope);
        Assert.AreEqual(new RopeSettings("default", 10000.0), HfConfig.Parse(MinimalConfig.Json("Gemma3ForCausalLM", "{}")).LocalRope, "transformers' default base");
        Assert.IsNull(HfConfig.Parse(MinimalConfig.Json("Gemma2ForCausalLM", """{"rope_local_base_freq": 5.0}""")).LocalRope, "Gemma 2 has one rope");
    }

    [TestMethod]
    [DataRow("""{"layer_types": ["full_attention", "chunked_attention"]}""",
        "config.json: field 'layer_types' has 'chunked_attention'; supported: full_attention, sliding_attention.")]
    [DataRow("""{"layer_types": ["full_attention"]}""",
        "config.json: field 'layer_types' has 1 entries; num_hidden_layers is 2.")]
    [DataRow("""{"use_bidirectional_attention": true}""",
        "config.json: field 'use_bidirectional_attention' is true (an encoder, such as EmbeddingGemma); only causal decoders export.")]
    [DataRow("""{"sliding_window_pattern": 0}""",
        "config.json: field 'sliding_window_pattern' should be at least 1, got 0.")]
    public void Parse_UnsupportedGemmaField_ThrowsNamingIt(string extra, string expected)
    {
        var e = Assert.ThrowsExactly<ExportException>(() => HfConfig.Parse(MinimalConfig.Json("Gemma3ForCausalLM", extra)));

        Assert.AreEqual(expected, e.Message);
    }

    [TestMethod]
    [DataRow("LlamaForCausalLM", "{}", "hidden_act", "silu")]
    [DataRow("Phi3ForCausalLM", """{"hidden_act": "gelu_new"}""", "hidden_act", "gelu_new")]
    [DataRow("Gemma2ForCausalLM", "{}", "hidden_activation", "gelu_pytorch_tanh")]
    [DataRow("Gemma3ForCausalLM", """{"hidden_act": "gelu", "hidden_activation": "gelu_pytorch_tanh"}""", "hidden_activation", "gelu_pytorch_tanh")]
    public void Parse_Activation_ReadsTheFieldTransformersReads(string architecture, string extra, string field, string value) =>
        Assert.AreEqual((field, value), HfConfig.Parse(MinimalConfig.Json(architecture, extra)).Activation);

    [TestMethod]
    [DataRow("""{"num_hidden_layers": -1}""", "config.json: field 'num_hidden_layers' should be at least 1, got -1.")]
    [DataRow("""{"hidden_size": 0}""", "config.json: field 'hidden_size' should be at least 1, got 0.")]
    [DataRow("""{"num_attention_heads": 0}""", "config.json: field 'num_attention_heads' should be at least 1, got 0.")]
    [DataRow("""{"num_key_value_heads": 0}""", "config.json: field 'num_key_value_heads' should be at least 1, got 0.")]
    [DataRow("""{"intermediate_size": -96}""", "config.json: field 'intermediate_size' should be at least 1, got -96.")]
    [DataRow("""{"vocab_size": 0}""", "config.json: field 'vocab_size' should be at least 1, got 0.")]
    [DataRow("""{"max_position_embeddings": 0}""", "config.json: field 'max_position_embeddings' should be at least 1, got 0.")]
    [DataRow("""{"head_dim": 0}""", "config.json: field 'head_dim' should be at least 1, got 0.")]
    [DataRow("""{"num_attention_heads": 3}""", "config.json: hidden_size 64 is not a multiple of num_attention_heads 3 (and no head_dim is given).")]
    public void Parse_SizeOutOfRange_ThrowsNamingConfigJsonAndField(string extra, string expected)
    {
        var e = Assert.ThrowsExactly<ExportException>(() => HfConfig.Parse(MinimalConfig.Json("LlamaForCausalLM", extra)));

        Assert.AreEqual(expected, e.Message);
    }

    [TestMethod]
    public void Parse_HeadDimGiven_HeadsNeedNotDivideHiddenSize()
    {
        var c = HfConfig.Parse(MinimalConfig.Json("LlamaForCausalLM", """{"num_attention_heads": 3, "head_dim": 32}"""));

        Assert.AreEqual(32, c.HeadDim);
    }

    [TestMethod]
    public void Parse_MissingField_ThrowsNamingField()
    {
        var e = Assert.ThrowsExactly<ExportException>(() => HfConfig.Parse("""{"architectures": ["LlamaForCausalLM"], "hidden_size": 64}"""));

        Assert.Contains("'num_attention_heads'", e.Message);
    }

    [TestMethod]
    public void Load_NoConfigFile_ThrowsNamingPath()
    {
        using var tmp = new TempDir();

        var e = Assert.ThrowsExactly<ExportException>(() => HfConfig.Load(tmp.Path));

        Assert.Contains("config.json", e.Message);
        Assert.Contains(tmp.Path, e.Message);
    }
}
