namespace Condensa.Export;

/// <summary>
/// The Hugging Face tensor names of a Llama-family decoder, as data: <c>{i}</c> is the layer index.
/// Architectures pick from this table; the graph builder never spells a checkpoint name itself.
/// </summary>
internal static class WeightMap
{
    public const string Embed = "model.embed_tokens.weight";
    public const string FinalNorm = "model.norm.weight";
    public const string LmHead = "lm_head.weight";

    public const string InputNorm = "model.layers.{i}.input_layernorm.weight";
    public const string PostAttentionNorm = "model.layers.{i}.post_attention_layernorm.weight";

    public const string QProj = "model.layers.{i}.self_attn.q_proj";
    public const string KProj = "model.layers.{i}.self_attn.k_proj";
    public const string VProj = "model.layers.{i}.self_attn.v_proj";
    public const string OProj = "model.layers.{i}.self_attn.o_proj";
    /// <summary>Qwen3: RMSNorm weights [head_dim] applied to every head of q and of k before RoPE.</summary>
    public const string QNorm = "model.layers.{i}.self_attn.q_norm.weight";
    public const string KNorm = "model.layers.{i}.self_attn.k_norm.weight";

    public const string GateProj = "model.layers.{i}.mlp.gate_proj";
    public const string UpProj = "model.layers.{i}.mlp.up_proj";
    public const string DownProj = "model.layers.{i}.mlp.down_proj";

    /// <summary>The name of a per-layer tensor.</summary>
    public static string Layer(string pattern, int layer) => pattern.Replace("{i}", layer.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>The weight of a projection (<c>nn.Linear</c>, stored [out, in]).</summary>
    public static string Weight(string projection, int layer) => Layer(projection, layer) + ".weight";

    /// <summary>The bias of a projection, stored [out].</summary>
    public static string Bias(string projection, int layer) => Layer(projection, layer) + ".bias";
}
