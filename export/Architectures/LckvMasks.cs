using Condensa.Export.Onnx;

namespace Condensa.Export;

/// <summary>
/// The per-layer masks of a layer-condensed graph, derived inside the graph from the host's one attention_bias,
/// so the host keeps a single bias whatever the layer mix: no diagonal (the new token's own key is blocked) and a
/// per-layer sliding window. Each variant is built once and shared by the layers that need it.
/// The window compares positions: cache slot c holds position c (a full, non-budgeted cache) and new token k
/// holds position_ids[k].
/// </summary>
internal sealed class LckvMasks(GraphBuilder b, AttentionContext ctx)
{
    private readonly Dictionary<(bool NoDiagonal, int? Window), AttentionMaskView> _views = [];
    private string? _diagonal, _capacity;
    private readonly Dictionary<int, string> _windows = [];

    /// <summary>The mask of a layer that attends without its own position and/or within a window.</summary>
    public AttentionMaskView For(bool noDiagonal, int? window)
    {
        if (!noDiagonal && window is null) return ctx.Mask;
        if (_views.TryGetValue((noDiagonal, window), out var view)) return view;
        using var _ = b.Scope($"attn_mask_{(noDiagonal ? "nodiag" : "diag")}_{window?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "full"}");
        string bias = ctx.BiasInput;                                                                          // [B, 1, S, T]
        if (noDiagonal) bias = b.Node("Add", [bias, Diagonal()], "nodiag/Add");                               // [B, 1, S, T]
        if (window is { } w) bias = b.Node("Add", [bias, Window(w)], "window/Add");                           // [B, 1, S, T]
        return _views[(noDiagonal, window)] = Attention.MaskView(b, bias);
    }

    /// <summary>
    /// MaskValue where new query j meets its own key (column C + j), else 0.
    /// <code>
    ///   Range(0, S) + C -> Unsqueeze(-1) [S,1] -+
    ///   Range(0, C + S) -> Unsqueeze(0)  [1,T] -+-> Equal [S,T] -> Where(MaskValue, 0)
    /// </code>
    /// </summary>
    private string Diagonal()
    {
        if (_diagonal is not null) return _diagonal;
        using var _ = b.Scope("attn_mask_diagonal");
        string zero = b.ConstInt64([0], scalar: true), one = b.ConstInt64([1], scalar: true);
        string seq = b.NodeN("Shape", "seq/Shape", [ctx.PositionIds], 1, [Attr.Int("start", 1), Attr.Int("end", 2)])[0];  // [1] = S
        seq = b.Node("Squeeze", [seq, b.ConstInt64([0])], "seq/Squeeze");                                                 // [] = S
        string total = b.Node("Add", [seq, Capacity()], "total/Add");                                                     // [] = T
        string rows = b.Node("Range", [zero, seq, one], "rows/Range");                                                    // [S]
        rows = b.Node("Add", [rows, Capacity()], "rows/Add");                                                             // [S]: C + j
        rows = b.Node("Unsqueeze", [rows, b.ConstInt64([-1])], "rows/Unsqueeze");                                         // [S, 1]
        string cols = b.Node("Range", [zero, total, one], "cols/Range");                                                  // [T]
        cols = b.Node("Unsqueeze", [cols, b.ConstInt64([0])], "cols/Unsqueeze");                                          // [1, T]
        string own = b.Node("Equal", [rows, cols]);                                                                       // [S, T]
        return _diagonal = b.Node("Where", [own, Blocked(), Open()]);                                                     // [S, T]
    }

    /// <summary>
    /// 0 where the key is fewer than <paramref name="window"/> positions before the query, else MaskValue.
    /// <code>
    ///   q = Unsqueeze(position_ids, -1) [B,S,1]
    ///   Concat(q - Range(0, C) [B,S,C], q - Unsqueeze(position_ids, 1) [B,S,S]) -> Less(window) -> Where(0, MaskValue) -> Unsqueeze(1)
    /// </code>
    /// </summary>
    private string Window(int window)
    {
        if (_windows.TryGetValue(window, out var done)) return done;
        using var _ = b.Scope($"attn_mask_window_{window}");
        string zero = b.ConstInt64([0], scalar: true), one = b.ConstInt64([1], scalar: true);
        string query = b.Node("Unsqueeze", [ctx.PositionIds, b.ConstInt64([-1])], "query/Unsqueeze");                    // [B, S, 1]
        string slots = b.Node("Range", [zero, Capacity(), one], "slots/Range");                                          // [C]: slot c holds position c
        string pastGap = b.Node("Sub", [query, slots], "past_gap/Sub");                                                   // [B, S, C]
        string keys = b.Node("Unsqueeze", [ctx.PositionIds, b.ConstInt64([1])], "keys/Unsqueeze");                       // [B, 1, S]
        string newGap = b.Node("Sub", [query, keys], "new_gap/Sub");                                                      // [B, S, S]
        string gap = b.Node("Concat", [pastGap, newGap], "gap/Concat", Attr.Int("axis", -1));                            // [B, S, T]
        string inside = b.Node("Less", [gap, b.ConstInt64([window], scalar: true)]);                                      // [B, S, T]
        string bias = b.Node("Where", [inside, Open(), Blocked()]);                                                       // [B, S, T]
        return _windows[window] = b.Node("Unsqueeze", [bias, b.ConstInt64([1])], "bias/Unsqueeze");                       // [B, 1, S, T]
    }

    // C as an int64 scalar, for Range.
    private string Capacity() => _capacity ??= b.Node("Squeeze", [ctx.Capacity, b.ConstInt64([0])], "capacity/Squeeze"); // [] = C

    private string Blocked() => b.ConstScalar(GraphNames.MaskValue, TensorProto.Types.DataType.Float);
    private string Open() => b.ConstScalar(0f, TensorProto.Types.DataType.Float);
}
