using System.Text.Json;
using System.Text.Json.Nodes;
using Condensa.Export;

namespace Condensa.TestSupport;

/// <summary>
/// Writes a tiny random Hugging Face checkpoint (config.json + safetensors) of the Llama family. Linear
/// weights are N(0, 1/fan_in) so activations stay at unit scale through the layers, attention scores are
/// O(1) (neither uniform nor one-hot) and logits differ clearly between contexts.
/// </summary>
public static class TinyCheckpoint
{
    /// <summary>Writes the checkpoint for <paramref name="spec"/> into <paramref name="dir"/> (created if needed).</summary>
    public static void Write(string dir, TinyModelSpec spec)
    {
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "config.json"), Config(spec).ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        var tensors = Tensors(spec);
        if (spec.Shards <= 1)
        {
            SafeTensorsWriter.Write(Path.Combine(dir, SafeTensorsReader.SingleFileName), tensors);
            return;
        }
        var weightMap = new JsonObject();
        for (int s = 0; s < spec.Shards; s++)
        {
            string file = $"model-{s + 1:00000}-of-{spec.Shards:00000}.safetensors";
            var shard = tensors.Where((_, i) => i % spec.Shards == s).ToList();
            SafeTensorsWriter.Write(Path.Combine(dir, file), shard);
            foreach (var t in shard) weightMap[t.Name] = file;
        }
        var index = new JsonObject { ["metadata"] = new JsonObject(), ["weight_map"] = weightMap };
        File.WriteAllText(Path.Combine(dir, SafeTensorsReader.IndexFileName), index.ToJsonString());
    }

    /// <summary>The HF architecture name of a spec's short name.</summary>
    public static string ArchitectureName(string shortName) => shortName switch
    {
        "llama" => "LlamaForCausalLM",
        "mistral" => "MistralForCausalLM",
        "qwen2" => "Qwen2ForCausalLM",
        "lckv" => LckvSettings.Architecture,
        _ => shortName,
    };

    private static JsonObject Config(TinyModelSpec spec)
    {
        string dtype = spec.Dtype switch { SafeTensorDtype.F16 => "float16", SafeTensorDtype.BF16 => "bfloat16", _ => "float32" };
        var c = new JsonObject
        {
            ["architectures"] = new JsonArray(ArchitectureName(spec.Architecture)),
            ["model_type"] = spec.Architecture == "lckv" ? "lckv_llama" : spec.Architecture,
            ["hidden_size"] = spec.HiddenSize,
            ["intermediate_size"] = spec.IntermediateSize,
            ["num_attention_heads"] = spec.NumHeads,
            ["num_key_value_heads"] = spec.NumKvHeads,
            ["num_hidden_layers"] = spec.NumLayers,
            ["head_dim"] = spec.HeadDim,
            ["rms_norm_eps"] = spec.RmsNormEps,
            ["vocab_size"] = spec.VocabSize,
            ["max_position_embeddings"] = spec.MaxPositionEmbeddings,
            ["tie_word_embeddings"] = spec.TieWordEmbeddings,
            ["hidden_act"] = "silu",
            ["bos_token_id"] = spec.BosTokenId,
            ["eos_token_id"] = spec.EosTokenId,
        };
        if (spec.Architecture is "llama" or "lckv")
        {
            c["attention_bias"] = spec.AttentionBias;
            c["mlp_bias"] = spec.MlpBias;
        }
        if (spec.Architecture == "mistral") c["sliding_window"] = spec.SlidingWindow;
        if (spec.Architecture == "lckv")
        {
            // The fields tools/train/lckv.py writes.
            c["layer_types"] = spec.LayerTypes;
            c["force_nodiag"] = spec.ForceNodiag;
            c["forward_passes"] = spec.ForwardPasses;
            c["backward_passes"] = spec.BackwardPasses;
            c["sliding_window"] = spec.LckvSlidingWindow;
            c["use_sequential"] = spec.UseSequential;
            if (spec.LckvReleasedDecode) c["lckv_released_decode"] = true;
        }
        if (spec.Architecture == "qwen2")
        {
            c["use_sliding_window"] = false;
            c["sliding_window"] = 4096;
            c["max_window_layers"] = spec.NumLayers;
        }

        JsonObject? rope = spec.RopeType switch
        {
            "default" => null,
            "linear" => new JsonObject { ["rope_type"] = "linear", ["factor"] = spec.RopeFactor },
            "llama3" => new JsonObject
            {
                ["rope_type"] = "llama3",
                ["factor"] = spec.RopeFactor,
                ["low_freq_factor"] = spec.LowFreqFactor,
                ["high_freq_factor"] = spec.HighFreqFactor,
                ["original_max_position_embeddings"] = spec.OriginalMaxPositionEmbeddings,
            },
            _ => new JsonObject { ["rope_type"] = spec.RopeType, ["factor"] = spec.RopeFactor },
        };
        if (spec.V5Layout)
        {
            rope ??= new JsonObject { ["rope_type"] = "default" };
            rope["rope_theta"] = spec.RopeTheta;
            c["rope_parameters"] = rope;
            c["dtype"] = dtype;
        }
        else
        {
            c["rope_theta"] = spec.RopeTheta;
            c["rope_scaling"] = rope;
            c["torch_dtype"] = dtype;
        }
        return c;
    }

    private static List<SafeTensor> Tensors(TinyModelSpec spec)
    {
        var rng = new Gaussian(spec.Seed);
        int h = spec.HiddenSize, q = spec.NumHeads * spec.HeadDim, kv = spec.NumKvHeads * spec.HeadDim, inter = spec.IntermediateSize;
        bool llamaLike = spec.Architecture is "llama" or "lckv";
        bool qkvBias = spec.Architecture == "qwen2" || (llamaLike && spec.AttentionBias);
        bool oBias = llamaLike && spec.AttentionBias;
        bool mlpBias = llamaLike && spec.MlpBias;
        // LCKV: only the layers some layer reads have k/v projections (a malformed layer_types writes them all).
        var stored = spec.LayerTypes is { } types
            ? types.Split('_').Select(t => int.TryParse(t.TrimEnd('s'), out int v) ? v : -1).ToHashSet()
            : null;
        var list = new List<SafeTensor>();
        void Add(string name, double std, double mean, params long[] shape)
        {
            long n = shape.Aggregate(1L, (a, b) => a * b);
            var data = new float[n];
            for (long i = 0; i < n; i++) data[i] = (float)(mean + std * rng.Next());
            list.Add(new SafeTensor(name, spec.Dtype, shape, data));
        }
        void Linear(string prefix, int inDim, int outDim, bool bias)
        {
            Add(prefix + ".weight", 1.0 / Math.Sqrt(inDim), 0, outDim, inDim);
            if (bias) Add(prefix + ".bias", 0.3, 0, outDim);
        }

        Add("model.embed_tokens.weight", 1.0, 0, spec.VocabSize, h);
        for (int l = 0; l < spec.NumLayers; l++)
        {
            string p = $"model.layers.{l}.";
            Add(p + "input_layernorm.weight", 0.1, 1.0, h);
            Linear(p + "self_attn.q_proj", h, q, qkvBias);
            if (stored is null || stored.Contains(l) || stored.Contains(-1))
            {
                Linear(p + "self_attn.k_proj", h, kv, qkvBias);
                Linear(p + "self_attn.v_proj", h, kv, qkvBias);
            }
            Linear(p + "self_attn.o_proj", q, h, oBias);
            Add(p + "post_attention_layernorm.weight", 0.1, 1.0, h);
            Linear(p + "mlp.gate_proj", h, inter, mlpBias);
            Linear(p + "mlp.up_proj", h, inter, mlpBias);
            Linear(p + "mlp.down_proj", inter, h, mlpBias);
        }
        Add("model.norm.weight", 0.1, 1.0, h);
        if (!spec.TieWordEmbeddings) Linear("lm_head", h, spec.VocabSize, false);
        return list;
    }

    /// <summary>Box-Muller standard normals from a seeded <see cref="Random"/>: the same seed, the same model.</summary>
    private sealed class Gaussian(int seed)
    {
        private readonly Random _random = new(seed);
        private double? _spare;

        public double Next()
        {
            if (_spare is { } s) { _spare = null; return s; }
            double u1 = 1.0 - _random.NextDouble(), u2 = _random.NextDouble();
            double r = Math.Sqrt(-2.0 * Math.Log(u1));
            _spare = r * Math.Sin(2 * Math.PI * u2);
            return r * Math.Cos(2 * Math.PI * u2);
        }
    }
}
