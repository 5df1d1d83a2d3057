using Condensa.Export;

namespace Condensa.TestSupport;

/// <summary>
/// The shape and options of a tiny random checkpoint for <see cref="TinyCheckpoint.Write"/>. Defaults make a
/// GQA Llama small enough that export + ONNX Runtime + the float64 reference run in milliseconds.
/// </summary>
public sealed record TinyModelSpec
{
    /// <summary>"llama", "mistral", "qwen2" or "lckv" (LCKVLlamaForCausalLM: set <see cref="LayerTypes"/>).</summary>
    public string Architecture { get; init; } = "llama";
    /// <summary>Seed of the random weights.</summary>
    public int Seed { get; init; } = 1234;
    /// <summary>vocab_size.</summary>
    public int VocabSize { get; init; } = 320;
    /// <summary>hidden_size.</summary>
    public int HiddenSize { get; init; } = 64;
    /// <summary>num_hidden_layers.</summary>
    public int NumLayers { get; init; } = 2;
    /// <summary>num_attention_heads.</summary>
    public int NumHeads { get; init; } = 4;
    /// <summary>num_key_value_heads.</summary>
    public int NumKvHeads { get; init; } = 2;
    /// <summary>head_dim (written explicitly to config.json).</summary>
    public int HeadDim { get; init; } = 16;
    /// <summary>intermediate_size.</summary>
    public int IntermediateSize { get; init; } = 96;
    /// <summary>max_position_embeddings.</summary>
    public int MaxPositionEmbeddings { get; init; } = 256;
    /// <summary>rms_norm_eps.</summary>
    public double RmsNormEps { get; init; } = 1e-5;
    /// <summary>tie_word_embeddings (no lm_head.weight is written when true).</summary>
    public bool TieWordEmbeddings { get; init; }
    /// <summary>"default", "linear" or "llama3" (or anything else, to test errors).</summary>
    public string RopeType { get; init; } = "default";
    /// <summary>rope_theta.</summary>
    public double RopeTheta { get; init; } = 10000.0;
    /// <summary>factor of linear / llama3 scaling.</summary>
    public double RopeFactor { get; init; } = 8.0;
    /// <summary>llama3 low_freq_factor.</summary>
    public double LowFreqFactor { get; init; } = 1.0;
    /// <summary>llama3 high_freq_factor.</summary>
    public double HighFreqFactor { get; init; } = 4.0;
    /// <summary>llama3 original_max_position_embeddings; small, so the tiny head has low, medium and high bands.</summary>
    public int OriginalMaxPositionEmbeddings { get; init; } = 64;
    /// <summary>Write config.json in the transformers v5 layout (rope_parameters, dtype).</summary>
    public bool V5Layout { get; init; }
    /// <summary>Element type of the stored weights.</summary>
    public SafeTensorDtype Dtype { get; init; } = SafeTensorDtype.F32;
    /// <summary>Llama attention_bias (q/k/v/o biases).</summary>
    public bool AttentionBias { get; init; }
    /// <summary>Llama mlp_bias (gate/up/down biases).</summary>
    public bool MlpBias { get; init; }
    /// <summary>Mistral sliding_window.</summary>
    public int? SlidingWindow { get; init; }
    /// <summary>Number of safetensors shards; more than 1 writes model.safetensors.index.json.</summary>
    public int Shards { get; init; } = 1;
    /// <summary>bos_token_id.</summary>
    public int BosTokenId { get; init; } = 1;
    /// <summary>eos_token_id.</summary>
    public int EosTokenId { get; init; } = 2;
    /// <summary>LCKV layer_types, e.g. "0_2_2_3" (k/v projections are written for the stored layers only).</summary>
    public string? LayerTypes { get; init; }
    /// <summary>LCKV force_nodiag.</summary>
    public bool ForceNodiag { get; init; } = true;
    /// <summary>LCKV forward_passes.</summary>
    public int ForwardPasses { get; init; } = 7;
    /// <summary>LCKV backward_passes.</summary>
    public int BackwardPasses { get; init; } = 2;
    /// <summary>LCKV use_sequential.</summary>
    public bool UseSequential { get; init; }

    /// <summary>LCKV lckv_released_decode (written only when true).</summary>
    public bool LckvReleasedDecode { get; init; }
    /// <summary>LCKV sliding_window of the layers marked 's' in <see cref="LayerTypes"/>.</summary>
    public int LckvSlidingWindow { get; init; } = 4096;
}
