namespace Condensa.Export;

/// <summary>
/// Values every layer's attention shares, built once per graph from the inputs.
/// </summary>
/// <param name="Cos">Rotary cos cache [max positions, D/2].</param>
/// <param name="Sin">Rotary sin cache [max positions, D/2].</param>
/// <param name="Mask">The host's attention_bias, viewed for grouped scores.</param>
/// <param name="GroupedShape">int64 [5] = (B, Hkv, G, S, T), to view scores per query group.</param>
/// <param name="FlatShape">int64 [4] = (B, Hkv, G·S, T), to view them back for the value MatMuls.</param>
/// <param name="Capacity">int64 [1] = C, where the past block of the probabilities ends.</param>
/// <param name="BiasInput">attention_bias itself, [B, 1, S, T], for layers that derive their own mask from it.</param>
/// <param name="PositionIds">position_ids, [B, S].</param>
internal sealed record AttentionContext(
    string Cos, string Sin, AttentionMaskView Mask, string GroupedShape, string FlatShape, string Capacity,
    string BiasInput, string PositionIds)
{
    /// <summary>The causal graph's context: only the rotary caches (GroupQueryAttention derives positions and the causal
    /// mask from seqlens_k).</summary>
    public static AttentionContext ForCausal(string cos, string sin) =>
        new(cos, sin, new AttentionMaskView("", ""), "", "", "", "", "") { Causal = true };

    /// <summary>Whether this is the causal graph's context (<see cref="ForCausal"/>).</summary>
    public bool Causal { get; private init; }
}

/// <summary>A bias as the attention core consumes it.</summary>
/// <param name="Bias">[B, 1, 1, S, T]: 0 admits, MaskValue (or less) blocks.</param>
/// <param name="RowAdmits">bool [B, 1, 1, S, 1]: the row admits at least one key.</param>
internal sealed record AttentionMaskView(string Bias, string RowAdmits);
