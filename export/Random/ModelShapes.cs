namespace Condensa.Export;

/// <summary>
/// Real models' dimensions for random-weight checkpoints (<c>condensa export --random --shape NAME</c>), from their
/// published config.json files. Contexts longer than 8192 are capped there: the KV cache grows in chunks, but a benchmark
/// never needs 128K slots and the cap keeps memory plans sane (and longrope's rotary tables small).
/// </summary>
public static class ModelShapes
{
    /// <summary>The context cap applied to models with longer contexts.</summary>
    public const int ContextCap = 8192;

    /// <summary>The known shapes by name.</summary>
    public static IReadOnlyDictionary<string, ModelShape> All { get; } = new Dictionary<string, ModelShape>(StringComparer.OrdinalIgnoreCase)
    {
        // TinyLlama/TinyLlama-1.1B-intermediate-step-1431k-3T (and -Chat-v1.0)
        ["tinyllama-1.1b"] = new("tinyllama-1.1b", "LlamaForCausalLM", HiddenSize: 2048, NumLayers: 22, NumHeads: 32, NumKvHeads: 4,
            IntermediateSize: 5632, VocabSize: 32000, MaxContext: 2048, RopeTheta: 10000, TieWordEmbeddings: false),
        // TinyLlama-1.1B's dimensions with a KV head per query head, as Llama-2 and earlier models have: 180 KB of float16 KV
        // a token against 22.5 KB, so at 32 x 8K a decode step reads 20x its weights in KV. MagicDec's regime (a budgeted
        // draft step costs about its weights, a verification of a few tokens about one step), where the demo model's 4 KB a
        // token never reaches (docs/benchmarks.md, round 12): the cost side of a KV-heavy 1.1B pair.
        ["tinyllama-1.1b-mha"] = new("tinyllama-1.1b-mha", "LlamaForCausalLM", HiddenSize: 2048, NumLayers: 22, NumHeads: 32, NumKvHeads: 32,
            IntermediateSize: 5632, VocabSize: 32000, MaxContext: 2048, RopeTheta: 10000, TieWordEmbeddings: false),
        // TinyLlama-1.1B's dimensions as a layer-condensed model (LCKV, Wu & Tu 2024): layer 0 and the top two layers store
        // KV, layers 1-19 attend to layer 20's (3 of 22 layers' KV per token)
        ["tinyllama-1.1b-lckv"] = new("tinyllama-1.1b-lckv", LckvSettings.Architecture, HiddenSize: 2048, NumLayers: 22, NumHeads: 32,
            NumKvHeads: 4, IntermediateSize: 5632, VocabSize: 32000, MaxContext: 2048, RopeTheta: 10000, TieWordEmbeddings: false)
        {
            LckvLayerTypes = "0_" + string.Join("_", Enumerable.Repeat(20, 20)) + "_21",
        },
        // meta-llama/Llama-3.2-1B
        ["llama-3.2-1b"] = new("llama-3.2-1b", "LlamaForCausalLM", HiddenSize: 2048, NumLayers: 16, NumHeads: 32, NumKvHeads: 8,
            IntermediateSize: 8192, VocabSize: 128256, MaxContext: ContextCap, RopeTheta: 500000, TieWordEmbeddings: true)
        {
            Llama3Rope = (32, 1, 4, 8192), SpecialTokens = (128000, 128001), NativeContext = 131072,
        },
        // Qwen/Qwen2-0.5B
        ["qwen2-0.5b"] = new("qwen2-0.5b", "Qwen2ForCausalLM", HiddenSize: 896, NumLayers: 24, NumHeads: 14, NumKvHeads: 2,
            IntermediateSize: 4864, VocabSize: 151936, MaxContext: ContextCap, RopeTheta: 1000000, TieWordEmbeddings: true)
        {
            QkvBias = true, RmsNormEps = 1e-6, SpecialTokens = (151643, 151643), NativeContext = 32768,
        },
        // Qwen/Qwen3-0.6B config.json: head_dim 128 (not 1024/16), q_norm/k_norm, tied, rope_theta 1e6, 40,960 positions;
        // eos 151645 is the post-trained model's <|im_end|> (Qwen3-0.6B-Base says 151643)
        ["qwen3-0.6b"] = new("qwen3-0.6b", "Qwen3ForCausalLM", HiddenSize: 1024, NumLayers: 28, NumHeads: 16, NumKvHeads: 8,
            IntermediateSize: 3072, VocabSize: 151936, MaxContext: ContextCap, RopeTheta: 1000000, TieWordEmbeddings: true)
        {
            ExplicitHeadDim = 128, QueryKeyNorm = true, RmsNormEps = 1e-6, SpecialTokens = (151643, 151645), NativeContext = 40960,
        },
        // microsoft/Phi-4-mini-instruct config.json: fused qkv_proj / gate_up_proj, partial_rotary_factor 0.75 of 128-dim
        // heads, longrope over original_max_position_embeddings 4096 of 131,072 (capped at 8,192, so passes past 4,096 take the
        // general graph's long factors; the cap makes transformers' attention factor that of 8,192 positions), tied,
        // bos = eos = 199999 (<|endoftext|>; generation_config adds 200020). Its sliding_window 262144 is past every position
        // and left out (the export would drop it: Phi3Decoder.SlidingWindow). Not the real longrope factors (all 1.0 here): decode speed does not depend on them.
        ["phi-4-mini"] = new("phi-4-mini", "Phi3ForCausalLM", HiddenSize: 3072, NumLayers: 32, NumHeads: 24, NumKvHeads: 8,
            IntermediateSize: 8192, VocabSize: 200064, MaxContext: ContextCap, RopeTheta: 10000, TieWordEmbeddings: true)
        {
            FusedProjections = true, PartialRotaryFactor = 0.75, LongRopeOriginal = 4096, SpecialTokens = (199999, 199999), NativeContext = 131072,
        },
        // google/gemma-3-1b-pt config.json: head_dim 256, 4 heads over 1 KV head, query_pre_attn_scalar 256, sliding_window
        // 512 with sliding_window_pattern 6 (layers 5, 11, 17, 23 full), rope_theta 1e6 for full layers and
        // rope_local_base_freq 10000 for sliding ones, no soft-capping, tied, bos 2, eos 1 (the -it model adds 106,
        // <end_of_turn>), 32,768 positions
        ["gemma-3-1b"] = new("gemma-3-1b", "Gemma3ForCausalLM", HiddenSize: 1152, NumLayers: 26, NumHeads: 4, NumKvHeads: 1,
            IntermediateSize: 6912, VocabSize: 262144, MaxContext: ContextCap, RopeTheta: 1000000, TieWordEmbeddings: true)
        {
            ExplicitHeadDim = 256, QueryKeyNorm = true, RmsNormEps = 1e-6, QueryPreAttnScalar = 256, SlidingWindow = 512,
            SlidingWindowPattern = 6, LocalRopeTheta = 10000, SpecialTokens = (2, 1), NativeContext = 32768,
        },
        // Not real models: docs/benchmarks.md's standard/LCKV pair of one size (LCKV: KV in layers 0, 6 and 7, as
        // demo-code-lckv), and the LCKV one with a 1024-token window in layers 0..5 (what the in-graph window costs).
        ["bench-llama"] = BenchLlama,
        ["bench-lckv"] = BenchLlama with { Name = "bench-lckv", Architecture = LckvSettings.Architecture, LckvLayerTypes = "0_6_6_6_6_6_6_7" },
        ["bench-lckv-sliding"] = BenchLlama with
        {
            Name = "bench-lckv-sliding", Architecture = LckvSettings.Architecture, LckvLayerTypes = "0s_6s_6s_6s_6s_6s_6_7", LckvSlidingWindow = 1024,
        },
        // tools/train/common.py's demo-code-mha: demo-code's parameters with 4 layers of 16 heads, each its own KV head (16 KB
        // of float16 KV a token against demo-code's 4 KB): its round costs before (or without) the trained checkpoint
        ["demo-code-mha"] = new("demo-code-mha", "LlamaForCausalLM", HiddenSize: 256, NumLayers: 4, NumHeads: 16, NumKvHeads: 16,
            IntermediateSize: 896, VocabSize: 4096, MaxContext: 8192, RopeTheta: 10000, TieWordEmbeddings: false)
        {
            ExplicitHeadDim = 64,
        },
        // Not a real model: a seconds-long smoke test of the whole path (tests, CI).
        ["tiny-random"] = new("tiny-random", "LlamaForCausalLM", HiddenSize: 64, NumLayers: 2, NumHeads: 4, NumKvHeads: 2,
            IntermediateSize: 128, VocabSize: 256, MaxContext: 512, RopeTheta: 10000, TieWordEmbeddings: false),
    };

    private static ModelShape BenchLlama => new("bench-llama", "LlamaForCausalLM", HiddenSize: 512, NumLayers: 8, NumHeads: 8,
        NumKvHeads: 4, IntermediateSize: 1408, VocabSize: 4096, MaxContext: 4096, RopeTheta: 10000, TieWordEmbeddings: false);

    /// <summary>The shape called <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">No such shape; the message lists the known ones.</exception>
    public static ModelShape Get(string name) =>
        All.TryGetValue(name, out var shape) ? shape
            : throw new ArgumentException($"unknown model shape '{name}' (known: {string.Join(", ", All.Keys)}).", nameof(name));
}
