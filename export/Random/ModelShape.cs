using System.Text.Json.Nodes;

namespace Condensa.Export;

/// <summary>
/// The dimensions of a real decoder model, enough to write a random-weight checkpoint of the same size and speed
/// (decode speed depends on shapes, not on weight values). <see cref="ModelShapes"/> lists the known ones.
/// </summary>
/// <param name="Name">Short name, e.g. "tinyllama-1.1b".</param>
/// <param name="Architecture">config.json architectures[0].</param>
/// <param name="HiddenSize">H.</param>
/// <param name="NumLayers">Decoder layers.</param>
/// <param name="NumHeads">Query heads.</param>
/// <param name="NumKvHeads">KV heads.</param>
/// <param name="IntermediateSize">MLP width.</param>
/// <param name="VocabSize">V.</param>
/// <param name="MaxContext">max_position_embeddings written to config.json (may be capped below the model's own).</param>
/// <param name="RopeTheta">Rotary base.</param>
/// <param name="TieWordEmbeddings">Whether lm_head is the embedding table.</param>
public sealed record ModelShape(string Name, string Architecture, int HiddenSize, int NumLayers, int NumHeads, int NumKvHeads,
    int IntermediateSize, int VocabSize, int MaxContext, double RopeTheta, bool TieWordEmbeddings)
{
    /// <summary>Head dim D: config.json's head_dim where the model sets one apart from H / heads (Qwen3, Gemma), else H / heads.</summary>
    public int HeadDim => ExplicitHeadDim ?? HiddenSize / NumHeads;

    /// <summary>head_dim where it is not H / heads (Qwen3-0.6B: 128 of hidden 1024 over 16 heads).</summary>
    public int? ExplicitHeadDim { get; init; }

    /// <summary>Per-head RMSNorm weights on q and k before RoPE (Qwen3, Gemma 3: <c>q_norm</c>, <c>k_norm</c>).</summary>
    public bool QueryKeyNorm { get; init; }

    /// <summary>Phi-3's fused tensors: q/k/v in one <c>qkv_proj</c>, gate/up in one <c>gate_up_proj</c>.</summary>
    public bool FusedProjections { get; init; }

    /// <summary>Fraction of each head RoPE rotates (Phi-4-mini 0.75).</summary>
    public double PartialRotaryFactor { get; init; } = 1.0;

    /// <summary>longrope's original_max_position_embeddings (Phi-3.5 / Phi-4); its factors are written as 1.0, since decode
    /// speed does not depend on them.</summary>
    public int? LongRopeOriginal { get; init; }

    /// <summary>config.json's sliding_window (Gemma 2/3: of the layers <see cref="SlidingWindowPattern"/> makes sliding).</summary>
    public int? SlidingWindow { get; init; }

    /// <summary>Gemma 2/3: every Nth layer is full attention, the others slide (transformers' sliding_window_pattern;
    /// config.json gets the layer_types list it stands for).</summary>
    public int? SlidingWindowPattern { get; init; }

    /// <summary>Gemma 3: the RoPE base of the sliding layers (rope_local_base_freq).</summary>
    public double? LocalRopeTheta { get; init; }

    /// <summary>Gemma: scores scaled by 1/√query_pre_attn_scalar.</summary>
    public double? QueryPreAttnScalar { get; init; }

    /// <summary>Whether the architecture is Gemma's: (1 + weight) norms, norms around the MLP too, GeLU-tanh.</summary>
    private bool IsGemma => Architecture is "Gemma2ForCausalLM" or "Gemma3ForCausalLM";

    /// <summary>Whether q/k/v projections carry biases (Qwen2).</summary>
    public bool QkvBias { get; init; }

    /// <summary>RMSNorm epsilon.</summary>
    public double RmsNormEps { get; init; } = 1e-5;

    /// <summary>Llama 3 rope scaling (factor, low_freq_factor, high_freq_factor, original_max_position_embeddings), or null.</summary>
    public (double Factor, double Low, double High, int Original)? Llama3Rope { get; init; }

    /// <summary>BOS / EOS ids of the real model: config.json and the random tokenizer (<see cref="RandomTokenizer"/>) put them there.</summary>
    public (int Bos, int Eos) SpecialTokens { get; init; } = (1, 2);

    /// <summary>The model's own context when <see cref="MaxContext"/> caps it, for documentation.</summary>
    public int? NativeContext { get; init; }

    /// <summary>For an <c>LCKVLlamaForCausalLM</c> shape: its config.json <c>layer_types</c> (which layer's KV each layer
    /// reads); only the layers it names store KV and have k/v projections.</summary>
    public string? LckvLayerTypes { get; init; }

    /// <summary>For an LCKV shape whose layer_types marks layers <c>s</c>: their sliding_window.</summary>
    public int? LckvSlidingWindow { get; init; }

    /// <summary>The tensors of the checkpoint in order: HF name, shape, fan-in for the random scale (0 = a norm weight, all ones).</summary>
    public IReadOnlyList<(string Name, long[] Shape, int FanIn)> Tensors()
    {
        int h = HiddenSize, q = NumHeads * HeadDim, kv = NumKvHeads * HeadDim, inter = IntermediateSize;
        var list = new List<(string, long[], int)> { ("model.embed_tokens.weight", [VocabSize, h], 1) };
        var stored = LckvLayerTypes is null ? null : LayerCondensation.Of(LayerTypes.Parse(LckvLayerTypes, NumLayers, Name).Sources).StoredLayers;
        for (int l = 0; l < NumLayers; l++)
        {
            string p = $"model.layers.{l}.";
            list.Add((p + "input_layernorm.weight", [h], 0));
            if (FusedProjections) list.Add((p + "self_attn.qkv_proj.weight", [q + 2 * kv, h], h));
            else list.Add((p + "self_attn.q_proj.weight", [q, h], h));
            if (!FusedProjections && (stored is null || stored.Contains(l)))
            {
                list.Add((p + "self_attn.k_proj.weight", [kv, h], h));
                list.Add((p + "self_attn.v_proj.weight", [kv, h], h));
            }
            if (QkvBias)
            {
                list.Add((p + "self_attn.q_proj.bias", [q], h));
                list.Add((p + "self_attn.k_proj.bias", [kv], h));
                list.Add((p + "self_attn.v_proj.bias", [kv], h));
            }
            if (QueryKeyNorm)
            {
                list.Add((p + "self_attn.q_norm.weight", [HeadDim], 0));
                list.Add((p + "self_attn.k_norm.weight", [HeadDim], 0));
            }
            list.Add((p + "self_attn.o_proj.weight", [h, q], q));
            list.Add((p + "post_attention_layernorm.weight", [h], 0));
            if (IsGemma)
            {
                list.Add((p + "pre_feedforward_layernorm.weight", [h], 0));
                list.Add((p + "post_feedforward_layernorm.weight", [h], 0));
            }
            if (FusedProjections) list.Add((p + "mlp.gate_up_proj.weight", [2 * inter, h], h));
            else
            {
                list.Add((p + "mlp.gate_proj.weight", [inter, h], h));
                list.Add((p + "mlp.up_proj.weight", [inter, h], h));
            }
            list.Add((p + "mlp.down_proj.weight", [h, inter], inter));
        }
        list.Add(("model.norm.weight", [h], 0));
        if (!TieWordEmbeddings) list.Add(("lm_head.weight", [VocabSize, h], h));
        return list;
    }

    /// <summary>Parameters of the checkpoint (a tied lm_head counted once).</summary>
    public long ParameterCount => Tensors().Sum(t => t.Shape.Aggregate(1L, (a, b) => a * b));

    // config.json's model_type of each architecture (Llama's for the others)
    private static readonly Dictionary<string, string> ModelTypes = new()
    {
        ["Qwen2ForCausalLM"] = "qwen2", ["Qwen3ForCausalLM"] = "qwen3", ["Phi3ForCausalLM"] = "phi3",
        ["Gemma2ForCausalLM"] = "gemma2", ["Gemma3ForCausalLM"] = "gemma3_text",
    };

    /// <summary>config.json of the checkpoint.</summary>
    public JsonObject Config(string torchDtype)
    {
        var c = new JsonObject
        {
            ["architectures"] = new JsonArray(Architecture),
            ["model_type"] = ModelTypes.GetValueOrDefault(Architecture, "llama"),
            ["hidden_size"] = HiddenSize,
            ["intermediate_size"] = IntermediateSize,
            ["num_attention_heads"] = NumHeads,
            ["num_key_value_heads"] = NumKvHeads,
            ["num_hidden_layers"] = NumLayers,
            ["head_dim"] = HeadDim,
            ["rms_norm_eps"] = RmsNormEps,
            ["vocab_size"] = VocabSize,
            ["max_position_embeddings"] = MaxContext,
            ["tie_word_embeddings"] = TieWordEmbeddings,
            [IsGemma ? "hidden_activation" : "hidden_act"] = IsGemma ? "gelu_pytorch_tanh" : "silu",
            ["bos_token_id"] = SpecialTokens.Bos,
            ["eos_token_id"] = SpecialTokens.Eos,
            ["rope_theta"] = RopeTheta,
            ["torch_dtype"] = torchDtype,
        };
        if (Architecture is "Qwen2ForCausalLM" or "Qwen3ForCausalLM")
        {
            c["use_sliding_window"] = false;
            c["sliding_window"] = MaxContext;
            c["max_window_layers"] = NumLayers;
        }
        else
        {
            c["attention_bias"] = false;
            c["mlp_bias"] = false;
        }
        if (LckvLayerTypes is not null)
        {
            // the layer-condensed fields, at the released checkpoints' settings
            c["model_type"] = "lckv_llama";
            c["layer_types"] = LckvLayerTypes;
            c["forward_passes"] = 7;
            c["backward_passes"] = 2;
            c["force_nodiag"] = true;
            c["use_sequential"] = false;
            if (LckvSlidingWindow is { } window) c["sliding_window"] = window;
        }
        if (QueryPreAttnScalar is { } scalar) c["query_pre_attn_scalar"] = scalar;
        if (SlidingWindow is { } slidingWindow) c["sliding_window"] = slidingWindow;
        if (SlidingWindowPattern is { } pattern)
        {
            // transformers' default layer_types for the pattern: layer i slides unless (i + 1) is a multiple of it
            c["layer_types"] = new JsonArray([.. Enumerable.Range(0, NumLayers)
                .Select(i => JsonValue.Create((i + 1) % pattern == 0 ? "full_attention" : "sliding_attention"))]);
        }
        if (PartialRotaryFactor != 1.0) c["partial_rotary_factor"] = PartialRotaryFactor;
        if (LocalRopeTheta is { } local)
        {
            // transformers 5's layout: one rope object per layer type (the shape has no scaling on either)
            c.Remove("rope_theta");
            c["rope_parameters"] = new JsonObject
            {
                ["full_attention"] = new JsonObject { ["rope_type"] = "default", ["rope_theta"] = RopeTheta },
                ["sliding_attention"] = new JsonObject { ["rope_type"] = "default", ["rope_theta"] = local },
            };
            return c;
        }
        if (LongRopeOriginal is { } original)
        {
            int half = (int)(HeadDim * PartialRotaryFactor) / 2;
            JsonArray Ones() => new([.. Enumerable.Repeat(1.0, half).Select(v => JsonValue.Create(v))]);
            c["original_max_position_embeddings"] = original;
            c["rope_scaling"] = new JsonObject
            {
                ["rope_type"] = "longrope", ["short_factor"] = Ones(), ["long_factor"] = Ones(),
            };
            return c;
        }
        c["rope_scaling"] = Llama3Rope is { } r
            ? new JsonObject
            {
                ["rope_type"] = "llama3", ["factor"] = r.Factor, ["low_freq_factor"] = r.Low,
                ["high_freq_factor"] = r.High, ["original_max_position_embeddings"] = r.Original,
            }
            : null;
        return c;
    }
}
