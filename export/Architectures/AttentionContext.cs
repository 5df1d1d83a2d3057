namespace Condensa.Export;

/// <summary>
/// Values every layer's attention shares, built once per graph from the inputs.
/// </summary>
/// <param name="Cos">Rotary cos cache [max positions, D/2].</param>
/// <param name="Sin">Rotary sin cache [max positions, D/2].</param>
/// <param name="Mask">The attention bias (built from the host's mask), viewed for grouped scores.</param>
/// <param name="GroupedShape">int64 [5] = (B, Hkv, G, S, T), to view scores per query group.</param>
/// <param name="FlatShape">int64 [4] = (B, Hkv, G·S, T), to view them back for the value MatMuls.</param>
/// <param name="Capacity">int64 [1] = C, where the past block of the probabilities ends.</param>
/// <param name="BiasInput">The attention bias itself, [B, 1, S, C + S], for layers that derive their own mask from it.</param>
/// <param name="PositionIds">position_ids, [B, S].</param>
internal sealed record AttentionContext(
    string Cos, string Sin, AttentionMaskView Mask, string GroupedShape, string FlatShape, string Capacity,
    string BiasInput, string PositionIds)
{
    /// <summary>The causal graph's context: the rotary caches and position_ids, which GroupQueryAttention rotates at (it
    /// derives the slots and the causal mask from seqlens_k).</summary>
    public static AttentionContext ForCausal(string cos, string sin, string positionIds) =>
        new(cos, sin, new AttentionMaskView("", ""), "", "", "", "", positionIds) { Causal = true };

    /// <summary>The multi-row causal graph's context: the rotary caches, each new token's position [B, S] (position_ids) and
    /// the rows' slots and lengths (<see cref="CausalRowLengths"/>), derived from seqlens_k.</summary>
    public static AttentionContext ForCausalRows(string cos, string sin, string positionIds, CausalRowLengths lengths) =>
        new(cos, sin, new AttentionMaskView("", ""), "", "", "", "", positionIds) { Causal = true, KvLengths = lengths };

    /// <summary>The slots graph's context: the rotary caches, the position ids and the bias over the written cache
    /// (<c>Attention.SlotBias</c>).</summary>
    public static AttentionContext ForSlots(string cos, string sin, string positionIds, string? longRopePositions, string slotBias) =>
        new(cos, sin, new AttentionMaskView("", ""), "", "", "", "", positionIds) { LongRopePositions = longRopePositions, SlotBias = slotBias };

    /// <summary>The slots graph's bias [B, 1, G·S, C] over the cache with this pass's entries written; null in the other graphs.</summary>
    public string? SlotBias { get; private init; }

    /// <summary>A float32 slots graph's shared values for its block scores (<see cref="BlockScoresAttention"/>); null where
    /// the layers attend with the Attention node, and in the other graphs.</summary>
    public ScoreBlocks? ScoreBlocks { get; init; }

    /// <summary>The position ids [B, S] RotaryEmbedding reads in a longrope general graph past its original context
    /// (<see cref="Rope.LongPositions"/>: offset into the long-factor rows when the pass reaches past it); null elsewhere.</summary>
    public string? LongRopePositions { get; init; }

    /// <summary>The position ids [B, S] q and k are rotated at: <see cref="LongRopePositions"/>, else <see cref="PositionIds"/>.</summary>
    public string RotaryPositionIds => LongRopePositions ?? PositionIds;

    /// <summary>Whether this is a causal graph's context (<see cref="ForCausal"/>, <see cref="ForCausalRows"/>).</summary>
    public bool Causal { get; private init; }

    /// <summary>The multi-row causal graph's row lengths; null in the other graphs.</summary>
    public CausalRowLengths? KvLengths { get; private init; }
}

/// <summary>Where the multi-row causal graph writes and how far it reads, per row.</summary>
/// <param name="WriteIndex">int64 [B]: the slot of the row's first new token (its length before the pass).</param>
/// <param name="Total">int64 [B]: the row's length after the pass, the slots Attention reads (nonpad_kv_seqlen).</param>
/// <param name="GroupedBias">[B, 1, G·S, C] the causal bias of the queries viewed as G·S rows per KV head, for a
/// grouped-query model (<c>Attention.GroupedCausalBias</c>); null where each KV head has one query head.</param>
internal sealed record CausalRowLengths(string WriteIndex, string Total, string? GroupedBias);

/// <summary>A bias as the attention core consumes it.</summary>
/// <param name="Bias">[B, 1, 1, S, T]: 0 admits, MaskValue (or less) blocks.</param>
/// <param name="RowAdmits">bool [B, 1, 1, S, 1]: the row admits at least one key.</param>
internal sealed record AttentionMaskView(string Bias, string RowAdmits);
