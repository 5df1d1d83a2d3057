using System.Text.Json;

namespace Condensa.Export;

/// <summary>
/// The fields of a Hugging Face <c>config.json</c> that a decoder export needs, read from either the
/// transformers v4 layout (<c>rope_theta</c>, <c>rope_scaling</c>, <c>torch_dtype</c>) or the v5 layout
/// (<c>rope_parameters</c>, <c>dtype</c>). Defaults follow transformers' config classes.
/// </summary>
public sealed record HfConfig
{
    /// <summary>The first entry of <c>architectures</c>, e.g. "LlamaForCausalLM".</summary>
    public required string Architecture { get; init; }
    /// <summary><c>hidden_size</c>.</summary>
    public required int HiddenSize { get; init; }
    /// <summary><c>intermediate_size</c> of the MLP.</summary>
    public required int IntermediateSize { get; init; }
    /// <summary><c>num_attention_heads</c>.</summary>
    public required int NumHeads { get; init; }
    /// <summary><c>num_key_value_heads</c> (defaults to the number of attention heads).</summary>
    public required int NumKvHeads { get; init; }
    /// <summary><c>num_hidden_layers</c>.</summary>
    public required int NumLayers { get; init; }
    /// <summary><c>head_dim</c> (defaults to hidden_size / num_attention_heads).</summary>
    public required int HeadDim { get; init; }
    /// <summary><c>rms_norm_eps</c>.</summary>
    public required double RmsNormEps { get; init; }
    /// <summary><c>vocab_size</c>.</summary>
    public required int VocabSize { get; init; }
    /// <summary><c>max_position_embeddings</c>.</summary>
    public required int MaxPositionEmbeddings { get; init; }
    /// <summary><c>tie_word_embeddings</c>: lm_head shares embed_tokens.</summary>
    public required bool TieWordEmbeddings { get; init; }
    /// <summary>Llama's <c>attention_bias</c>: q/k/v/o projections carry biases.</summary>
    public required bool AttentionBias { get; init; }
    /// <summary>Llama's <c>mlp_bias</c>: gate/up/down projections carry biases.</summary>
    public required bool MlpBias { get; init; }
    /// <summary><c>bos_token_id</c>, if any.</summary>
    public int? BosTokenId { get; init; }
    /// <summary><c>eos_token_id</c> as a list (the field may be an int or a list).</summary>
    public required IReadOnlyList<int> EosTokenIds { get; init; }
    /// <summary>Sliding attention window, or null for full attention.</summary>
    public int? SlidingWindow { get; init; }
    /// <summary>Rotary embedding settings.</summary>
    public required RopeSettings Rope { get; init; }
    /// <summary>The checkpoint's stored dtype name ("float32", "float16", "bfloat16"), if given.</summary>
    public string? Dtype { get; init; }
    /// <summary>Layer-condensed KV fields of an LCKV checkpoint, or null for every other architecture.</summary>
    public LckvSettings? Lckv { get; init; }
    /// <summary>transformers' <c>layer_types</c> as a list ("full_attention", "sliding_attention"), or null where absent
    /// (an LCKV checkpoint's string of the same name is in <see cref="Lckv"/>).</summary>
    public IReadOnlyList<string>? AttentionKinds { get; init; }
    /// <summary>The rotary settings of sliding-window layers where they differ from <see cref="Rope"/> (Gemma 3's local base), else null.</summary>
    public RopeSettings? LocalRope { get; init; }
    /// <summary>The MLP activation and the field that named it (<c>hidden_act</c>; Gemma's <c>hidden_activation</c>), or the
    /// architecture's default where absent.</summary>
    public (string Field, string Value) Activation { get; init; } = ("hidden_act", "silu");
    /// <summary>Gemma's <c>query_pre_attn_scalar</c>: scores are scaled by its inverse square root instead of head_dim's.</summary>
    public double? QueryPreAttnScalar { get; init; }
    /// <summary>Gemma 2's <c>attn_logit_softcapping</c>: scores become cap·tanh(scores / cap) before the mask.</summary>
    public double? AttnLogitSoftcapping { get; init; }
    /// <summary>Gemma 2's <c>final_logit_softcapping</c>: logits become cap·tanh(logits / cap).</summary>
    public double? FinalLogitSoftcapping { get; init; }

    /// <summary>The factor attention scores are scaled by: 1/√query_pre_attn_scalar where given, else 1/√head_dim.</summary>
    public double AttentionScale => 1.0 / Math.Sqrt(QueryPreAttnScalar ?? HeadDim);

    /// <summary>Reads <c>config.json</c> from a checkpoint folder.</summary>
    /// <exception cref="ExportException">The file is missing, unreadable, or a field is missing or unsupported.</exception>
    public static HfConfig Load(string checkpointDir)
    {
        string path = Path.Combine(checkpointDir, "config.json");
        if (!File.Exists(path))
            throw new ExportException($"Missing config.json: '{path}' does not exist.");
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            return Parse(doc.RootElement, path);
        }
        catch (JsonException e)
        {
            throw new ExportException($"'{path}' is not valid JSON: {e.Message}", e);
        }
    }

    /// <summary>Parses the text of a config.json; <paramref name="source"/> names it in error messages.</summary>
    public static HfConfig Parse(string json, string source = "config.json")
    {
        using var doc = JsonDocument.Parse(json);
        return Parse(doc.RootElement, source);
    }

    private static HfConfig Parse(JsonElement root, string source)
    {
        var f = new Fields(root, source);
        string architecture = f.Architecture();
        // Sizes are checked here, where the field is known, instead of surfacing later as a tensor-shape or index error.
        int hidden = f.Positive("hidden_size", f.Int("hidden_size"));
        int heads = f.Positive("num_attention_heads", f.Int("num_attention_heads"));
        int layers = f.Positive("num_hidden_layers", f.Int("num_hidden_layers"));
        int? headDim = f.OptionalInt("head_dim") is { } d ? f.Positive("head_dim", d) : null;
        if (headDim is null && hidden % heads != 0)
            throw new ExportException($"{source}: hidden_size {hidden} is not a multiple of num_attention_heads {heads} (and no head_dim is given).");
        int maxPositions = f.OptionalInt("max_position_embeddings") is { } max ? f.Positive("max_position_embeddings", max) : 2048;
        if (f.OptionalBool("use_bidirectional_attention") == true)
            throw new ExportException($"{source}: field 'use_bidirectional_attention' is true (an encoder, such as EmbeddingGemma); " +
                "only causal decoders export.");
        return new HfConfig
        {
            Architecture = architecture,
            HiddenSize = hidden,
            IntermediateSize = f.Positive("intermediate_size", f.Int("intermediate_size")),
            NumHeads = heads,
            NumKvHeads = f.OptionalInt("num_key_value_heads") is { } kv ? f.Positive("num_key_value_heads", kv) : heads,
            NumLayers = layers,
            HeadDim = headDim ?? hidden / heads,
            RmsNormEps = f.OptionalDouble("rms_norm_eps") ?? 1e-6,
            VocabSize = f.Positive("vocab_size", f.Int("vocab_size")),
            MaxPositionEmbeddings = maxPositions,
            TieWordEmbeddings = f.OptionalBool("tie_word_embeddings") ?? false,
            AttentionBias = f.OptionalBool("attention_bias") ?? false,
            MlpBias = f.OptionalBool("mlp_bias") ?? false,
            BosTokenId = f.OptionalInt("bos_token_id"),
            EosTokenIds = f.IntList("eos_token_id"),
            SlidingWindow = SlidingWindowOf(f, architecture, layers),
            Rope = RopeOf(f, maxPositions, headDim ?? hidden / heads, "full_attention"),
            LocalRope = LocalRopeOf(f, architecture, maxPositions, headDim ?? hidden / heads),
            AttentionKinds = AttentionKindsOf(f, architecture, layers),
            Activation = ActivationOf(f, architecture),
            Dtype = f.OptionalString("dtype") ?? f.OptionalString("torch_dtype"),
            Lckv = architecture == LckvSettings.Architecture ? LckvOf(f, layers) : null,
            QueryPreAttnScalar = f.OptionalDouble("query_pre_attn_scalar"),
            AttnLogitSoftcapping = f.OptionalDouble("attn_logit_softcapping"),
            FinalLogitSoftcapping = f.OptionalDouble("final_logit_softcapping"),
        };
    }

    // Gemma's configs as published (transformers 4) have no layer_types: transformers derives it, and so must we, else every
    // layer would silently attend to the whole context. Gemma 2 alternates (layer 0 slides); Gemma 3 makes every
    // sliding_window_pattern-th layer full (default 6). Only LCKV reads layer_types as a source string instead.
    private static IReadOnlyList<string>? AttentionKindsOf(Fields f, string architecture, int layers)
    {
        if (architecture == LckvSettings.Architecture) return null;
        bool gemma = architecture is "Gemma2ForCausalLM" or "Gemma3ForCausalLM";
        if (f.OptionalStringList("layer_types") is { } kinds)
        {
            if (!gemma) return kinds;   // read by Gemma's builders only; the others window by their own fields
            if (kinds.Count != layers)
                throw new ExportException($"{f.Source}: field 'layer_types' has {kinds.Count} entries; num_hidden_layers is {layers}.");
            if (kinds.FirstOrDefault(k => k is not ("full_attention" or "sliding_attention")) is { } other)
                throw new ExportException(
                    $"{f.Source}: field 'layer_types' has '{other}'; supported: full_attention, sliding_attention.");
            return kinds;
        }
        if (!gemma) return null;
        int every = architecture == "Gemma2ForCausalLM" ? 2
            : f.OptionalInt("sliding_window_pattern") ?? f.OptionalInt("_sliding_window_pattern") ?? 6;
        if (every < 1) throw new ExportException($"{f.Source}: field 'sliding_window_pattern' should be at least 1, got {every}.");
        return [.. Enumerable.Range(0, layers).Select(i => (i + 1) % every == 0 ? "full_attention" : "sliding_attention")];
    }

    // The sliding layers' rope where it differs: transformers 5 writes rope_parameters.sliding_attention; Gemma 3's
    // transformers-4 config has rope_local_base_freq instead (default 10000), a plain rope whatever rope_scaling the full
    // layers have, as transformers builds its local rotary embedding.
    private static RopeSettings? LocalRopeOf(Fields f, string architecture, int maxPositions, int headDim)
    {
        if (f.OptionalObject("rope_parameters") is { } rp && rp.TryGetProperty("sliding_attention", out _))
            return RopeOf(f, maxPositions, headDim, "sliding_attention");
        if (architecture != "Gemma3ForCausalLM" || f.OptionalObject("rope_parameters") is not null) return null;
        return new RopeSettings("default", f.OptionalDouble("rope_local_base_freq") ?? 10000.0);
    }

    // The MLP activation as transformers reads it: Gemma 2/3's config classes take hidden_activation (and ignore a
    // hidden_act beside it), the others hidden_act; absent, the class's default.
    private static (string Field, string Value) ActivationOf(Fields f, string architecture)
    {
        var (field, fallback) = architecture is "Gemma2ForCausalLM" or "Gemma3ForCausalLM"
            ? ("hidden_activation", "gelu_pytorch_tanh") : ("hidden_act", "silu");
        return (field, f.OptionalString(field) ?? fallback);
    }

    // Only LCKV reads layer_types as a source string: newer transformers configs use the same field name for a
    // list of attention kinds ("full_attention", "sliding_attention").
    private static LckvSettings LckvOf(Fields f, int layers)
    {
        string text = f.OptionalString("layer_types") ?? throw new ExportException(
            $"{f.Source}: {LckvSettings.Architecture} needs field 'layer_types' (e.g. \"0_6_6_6_6_6_6_7\").");
        var settings = new LckvSettings
        {
            LayerTypes = LayerTypes.Parse(text, layers, f.Source),
            ForceNodiag = f.OptionalBool("force_nodiag") ?? false,
            ForwardPasses = f.OptionalInt("forward_passes") ?? 7,
            BackwardPasses = f.OptionalInt("backward_passes") ?? 2,
            SlidingWindow = f.OptionalInt("sliding_window") ?? 4096,
            UseSequential = f.OptionalBool("use_sequential") ?? false,
            ReleasedDecode = f.OptionalBool("lckv_released_decode") ?? false,
        };
        if (settings.ForwardPasses < 0 || settings.BackwardPasses < 0 || settings.IterativePasses < 1)
            throw new ExportException($"{f.Source}: forward_passes {settings.ForwardPasses} + backward_passes " +
                $"{settings.BackwardPasses} must be at least 1 and neither negative.");
        if (settings.SlidingWindow < 1)
            throw new ExportException($"{f.Source}: field 'sliding_window' should be at least 1, got {settings.SlidingWindow}.");
        return settings;
    }

    // Mistral: sliding_window applies to every layer when set. Qwen2 and Qwen3: only with use_sliding_window, and then
    // only to layers >= max_window_layers; a mix of full and sliding layers does not fit one manifest window.
    private static int? SlidingWindowOf(Fields f, string architecture, int layers)
    {
        int? window = f.OptionalInt("sliding_window");
        if (window is null) return null;
        if (architecture == LckvSettings.Architecture) return null;   // per layer, in LckvSettings
        if (architecture is not ("Qwen2ForCausalLM" or "Qwen3ForCausalLM")) return window;
        if (!(f.OptionalBool("use_sliding_window") ?? false)) return null;
        int maxWindowLayers = f.OptionalInt("max_window_layers") ?? layers;
        if (maxWindowLayers >= layers) return null;
        if (maxWindowLayers == 0) return window;
        throw new ExportException(
            $"{f.Source}: use_sliding_window with max_window_layers = {maxWindowLayers} of {layers} layers " +
            "mixes full and sliding layers, which is not supported.");
    }

    private static RopeSettings RopeOf(Fields f, int maxPositions, int headDim, string layerType)
    {
        // v5 keeps everything in rope_parameters, one object per layer type where they differ (Gemma 3); v4 has rope_theta
        // beside an optional rope_scaling.
        JsonElement? p = f.OptionalObject("rope_parameters") ?? f.OptionalObject("rope_scaling");
        bool perLayerType = p is { } all && all.TryGetProperty(layerType, out var own) && own.ValueKind == JsonValueKind.Object;
        if (perLayerType) p = p!.Value.GetProperty(layerType);
        double theta = f.OptionalDouble("rope_theta") ?? 10000.0;
        double partial = f.OptionalDouble("partial_rotary_factor")
            ?? (p is { } pp && pp.TryGetProperty("partial_rotary_factor", out var prf) && prf.ValueKind == JsonValueKind.Number ? prf.GetDouble() : 1.0);
        if (!(partial > 0 && partial <= 1) || (int)(headDim * partial) % 2 != 0)
            throw new ExportException($"{f.Source}: partial_rotary_factor {partial} must be in (0, 1] and rotate an even part of head_dim {headDim}.");
        if (p is null) return new RopeSettings("default", theta) { PartialRotaryFactor = partial };

        var r = new Fields(p.Value, f.Source + (f.OptionalObject("rope_parameters") is null ? ": rope_scaling" : ": rope_parameters")
            + (perLayerType ? "." + layerType : ""));
        string typeField = r.OptionalString("rope_type") is not null ? "rope_type" : "type";   // "type": the older name
        string type = r.OptionalString(typeField) ?? "default";
        theta = r.OptionalDouble("rope_theta") ?? theta;
        if (!RopeSettings.SupportedTypes.Contains(type))
            throw new ExportException(
                $"{r.Source}: field '{typeField}' is '{type}', a rope type the exporter does not implement; " +
                $"supported: {string.Join(", ", RopeSettings.SupportedTypes)}.");
        return type switch
        {
            "default" => new RopeSettings(type, theta) { PartialRotaryFactor = partial },
            "linear" => new RopeSettings(type, theta, r.Double("factor")) { PartialRotaryFactor = partial },
            "longrope" => LongRope(f, r, theta, partial, maxPositions, headDim),
            _ => new RopeSettings(type, theta, r.Double("factor"), r.Double("low_freq_factor"),
                r.Double("high_freq_factor"), r.Int("original_max_position_embeddings")) { PartialRotaryFactor = partial },
        };
    }

    // Phi-3 / Phi-4 longrope: the original context sits in the rope fields (v5) or beside them (v4); the attention factor,
    // when not given, follows from max_position_embeddings over it, as transformers derives it. Both factor lists hold one
    // divisor per rotated frequency: the short ones rotate passes within the original context, the long ones the rest.
    private static RopeSettings LongRope(Fields f, Fields r, double theta, double partial, int maxPositions, int headDim)
    {
        int original = r.OptionalInt("original_max_position_embeddings") ?? f.Int("original_max_position_embeddings");
        double factor = (double)maxPositions / original;
        double attention = r.OptionalDouble("attention_factor")
            ?? (factor <= 1.0 ? 1.0 : Math.Sqrt(1 + Math.Log(factor) / Math.Log(original)));
        int half = (int)(headDim * partial) / 2;
        double[] Factors(string name)
        {
            double[] list = [.. r.DoubleList(name)];
            if (list.Length != half)
                throw new ExportException($"{r.Source}: field '{name}' has {list.Length} entries; a rotated dim of {2 * half} " +
                    $"(head_dim {headDim} x partial_rotary_factor {partial}) needs {half}, one per frequency.");
            return list;
        }
        return new RopeSettings("longrope", theta, factor, OriginalMaxPositionEmbeddings: original)
        {
            PartialRotaryFactor = partial,
            ShortFactor = Factors("short_factor"),
            LongFactor = Factors("long_factor"),
            AttentionFactor = attention,
        };
    }

    /// <summary>Typed access to a JSON object's fields with errors that name the file and field.</summary>
    private readonly struct Fields(JsonElement obj, string source)
    {
        public string Source => source;

        public string Architecture()
        {
            if (!obj.TryGetProperty("architectures", out var a) || a.ValueKind != JsonValueKind.Array || a.GetArrayLength() == 0)
                throw new ExportException($"{source}: field 'architectures' is missing or empty.");
            return a[0].GetString() ?? throw new ExportException($"{source}: 'architectures[0]' is not a string.");
        }

        public int Int(string name) => OptionalInt(name) ?? throw Missing(name);
        public double Double(string name) => OptionalDouble(name) ?? throw Missing(name);

        public int? OptionalInt(string name) => Get(name) is { } e
            ? e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int v) ? v : throw Bad(name, e, "an integer")
            : null;

        public double? OptionalDouble(string name) => Get(name) is { } e
            ? e.ValueKind == JsonValueKind.Number ? e.GetDouble() : throw Bad(name, e, "a number")
            : null;

        public bool? OptionalBool(string name) => Get(name) is { } e
            ? e.ValueKind is JsonValueKind.True or JsonValueKind.False ? e.GetBoolean() : throw Bad(name, e, "a boolean")
            : null;

        public string? OptionalString(string name) => Get(name) is { } e
            ? e.ValueKind == JsonValueKind.String ? e.GetString() : throw Bad(name, e, "a string")
            : null;

        public JsonElement? OptionalObject(string name) => Get(name) is { } e
            ? e.ValueKind == JsonValueKind.Object ? e : throw Bad(name, e, "an object")
            : null;

        public IReadOnlyList<string>? OptionalStringList(string name)
        {
            if (Get(name) is not { } e || e.ValueKind != JsonValueKind.Array) return null;   // LCKV's layer_types is a string
            var list = new List<string>();
            foreach (var item in e.EnumerateArray())
                list.Add(item.ValueKind == JsonValueKind.String ? item.GetString()! : throw Bad(name, e, "a list of strings"));
            return list;
        }

        public IReadOnlyList<double> DoubleList(string name)
        {
            if (Get(name) is not { } e) throw Missing(name);
            if (e.ValueKind != JsonValueKind.Array) throw Bad(name, e, "a list of numbers");
            var list = new List<double>();
            foreach (var item in e.EnumerateArray())
                list.Add(item.ValueKind == JsonValueKind.Number ? item.GetDouble() : throw Bad(name, e, "a list of numbers"));
            return list;
        }

        public IReadOnlyList<int> IntList(string name)
        {
            if (Get(name) is not { } e) return [];
            if (e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int single)) return [single];
            if (e.ValueKind != JsonValueKind.Array) throw Bad(name, e, "an integer or a list of integers");
            var list = new List<int>();
            foreach (var item in e.EnumerateArray())
                list.Add(item.ValueKind == JsonValueKind.Number && item.TryGetInt32(out int v) ? v : throw Bad(name, e, "a list of integers"));
            return list;
        }

        // A JSON null counts as absent: transformers writes e.g. "head_dim": null and "rope_scaling": null.
        private JsonElement? Get(string name) =>
            obj.TryGetProperty(name, out var e) && e.ValueKind != JsonValueKind.Null ? e : null;

        /// <summary><paramref name="value"/> of field <paramref name="name"/>, which must be at least 1.</summary>
        public int Positive(string name, int value) =>
            value >= 1 ? value : throw new ExportException($"{source}: field '{name}' should be at least 1, got {value}.");

        private ExportException Missing(string name) => new($"{source}: required field '{name}' is missing.");

        private ExportException Bad(string name, JsonElement e, string expected) =>
            new($"{source}: field '{name}' should be {expected}, got {e.GetRawText()}.");
    }
}
