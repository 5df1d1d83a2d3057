namespace Condensa.Export;

/// <summary>
/// Values every layer's attention shares, built once per graph from the inputs.
/// </summary>
/// <param name="Cos">Rotary cos table [B, 1, S, D].</param>
/// <param name="Sin">Rotary sin table [B, 1, S, D].</param>
/// <param name="Bias">attention_bias unsqueezed for grouped scores: [B, 1, 1, S, T].</param>
/// <param name="RowAdmits">bool [B, 1, 1, S, 1]: the row admits at least one key.</param>
/// <param name="GroupedShape">int64 [5] = (B, Hkv, G, S, T), to view scores per query group.</param>
/// <param name="FlatShape">int64 [4] = (B, Hkv, G·S, T), to view them back for the value MatMuls.</param>
/// <param name="Capacity">int64 [1] = C, where the past block of the probabilities ends.</param>
internal sealed record AttentionContext(
    string Cos, string Sin, string Bias, string RowAdmits, string GroupedShape, string FlatShape, string Capacity);
