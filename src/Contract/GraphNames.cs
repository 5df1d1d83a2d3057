namespace Condensa;

/// <summary>
/// The names of the graph contract (docs/ARCHITECTURE.md): the host binds inputs and outputs by these.
/// </summary>
public static class GraphNames
{
    /// <summary>int64 [B, S]: the new tokens.</summary>
    public const string InputIds = "input_ids";
    /// <summary>int64 [B, S]: rotary position of each new token.</summary>
    public const string PositionIds = "position_ids";
    /// <summary>int64 [B, S, 2] (exporter 17 on): the cache slots each new token sees, [first, end); [0, 0) for none. The
    /// graph builds the attention bias over [the C slots ++ the S new tokens] from it and <see cref="AttentionNew"/>, so what
    /// crosses to the device per pass does not grow with the context.</summary>
    public const string AttentionSpan = "attention_span";
    /// <summary>float32 [B, 1, S, S] (exporter 17 on): whether new token j sees new token k, 0 admits, <see cref="MaskValue"/>
    /// blocks (causal, a tree's ancestors, a sliding window).</summary>
    public const string AttentionNew = "attention_new";
    /// <summary>int64 [B, K]: which of the S positions get logits.</summary>
    public const string LogitsIndex = "logits_index";
    /// <summary>int64 [B, Hkv, S, 3]: (row, head, slot) of the past buffers where each new entry is written.</summary>
    public const string KvWriteIndex = "kv_write_index";
    /// <summary>int32 [B] (the causal graph): each row's length after the pass, minus one; the pass's S new tokens of row b
    /// go to slots seqlens_k[b] + 1 - S .. seqlens_k[b], which are also their positions.</summary>
    public const string SeqLensK = "seqlens_k";
    /// <summary>int32 [1] in host memory (the causal graph): an upper bound of the rows' lengths after the pass that stays
    /// fixed for a cache's buffers, so a captured CUDA graph stays valid (GroupQueryAttention sizes its work by it).</summary>
    public const string TotalSequenceLength = "total_sequence_length";
    /// <summary>float32 [B, K, V].</summary>
    public const string Logits = "logits";
    /// <summary>int64 [B, K] (exporter 7 on): ArgMax of <see cref="Logits"/>, the first maximum on a tie. A greedy step reads
    /// these B·K ids instead of B·K·V floats, so on a GPU the logits never cross to the host.</summary>
    public const string GreedyTokens = "greedy_tokens";

    /// <summary>The value of a blocked position in the attention bias (<see cref="AttentionNew"/>, and the slots outside an
    /// <see cref="AttentionSpan"/>). Finite (not -inf) so a fully blocked row
    /// softmaxes without NaN; the graph then zeroes such rows (it admits a row whose maximum exceeds MaskValue / 2).
    /// -1e9 drowns any real score yet stays far from float overflow when scores are added.</summary>
    public const float MaskValue = -1e9f;

    /// <summary>Symbolic dims of the graph: batch, new tokens, cache capacity, logit positions.</summary>
    public const string DimBatch = "B", DimSequence = "S", DimCapacity = "C", DimLogits = "K";

    /// <summary>Input [B, Hkv, C, D]: the cached keys of stored layer <paramref name="layer"/>.</summary>
    public static string PastKey(int layer) => $"past.{layer}.key";
    /// <summary>Input [B, Hkv, C, D]: the cached values of stored layer <paramref name="layer"/>.</summary>
    public static string PastValue(int layer) => $"past.{layer}.value";
    /// <summary>Output [B, Hkv, S, D]: the post-RoPE keys of the new tokens.</summary>
    public static string NewKey(int layer) => $"new.{layer}.key";
    /// <summary>Output [B, Hkv, S, D]: the values of the new tokens.</summary>
    public static string NewValue(int layer) => $"new.{layer}.value";
    /// <summary>Output [B, Hkv, C, D]: past.{layer}.key with the new keys written at <see cref="KvWriteIndex"/>; the host binds
    /// it to the past buffer itself, so ScatterND writes in place and nothing else of the cache moves.</summary>
    public static string PresentKey(int layer) => $"present.{layer}.key";
    /// <summary>Output [B, Hkv, C, D]: past.{layer}.value with the new values written in place, as <see cref="PresentKey"/>.</summary>
    public static string PresentValue(int layer) => $"present.{layer}.value";

    /// <summary>Input [B, Hkv, S, D] (layer-condensed models): the host's estimate of stored layer
    /// <paramref name="layer"/>'s post-RoPE keys for the new tokens, read by the lower layers that attend to it.</summary>
    public static string PendingKey(int layer) => $"pending.{layer}.key";
    /// <summary>Input [B, Hkv, S, D]: the estimate of the values, as <see cref="PendingKey"/>.</summary>
    public static string PendingValue(int layer) => $"pending.{layer}.value";
}
