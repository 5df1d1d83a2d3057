using Condensa.Export.Onnx;

namespace Condensa.Export;

/// <summary>
/// The per-layer masks of a layer-condensed graph, derived inside the graph from its one attention bias (built from the
/// host's mask), so the host sends a single mask whatever the layer mix: no diagonal (the new token's own key is blocked) and a
/// per-layer sliding window. Each variant is built once and shared by the layers that need it.
/// The window compares positions: cache slot c holds position c (a full, non-budgeted cache) and new token k
/// holds position_ids[k].
/// </summary>
internal sealed class LckvMasks(GraphBuilder b, AttentionContext ctx)
{
    private readonly Dictionary<(bool NoDiagonal, int? Window), (string Bias, AttentionMaskView View)> _views = [];
    private readonly Dictionary<int, AttentionContext> _released = [];   // by window, 0 for full attention
    private string? _diagonal, _capacity, _gap;
    private readonly Dictionary<int, string> _windows = [];

    /// <summary>The mask of a layer that attends without its own position and/or within a window.</summary>
    public AttentionMaskView For(bool noDiagonal, int? window) =>
        !noDiagonal && window is null ? ctx.Mask : Variant(noDiagonal, window).View;

    private (string Bias, AttentionMaskView View) Variant(bool noDiagonal, int? window)
    {
        if (_views.TryGetValue((noDiagonal, window), out var made)) return made;
        using var _ = b.Scope($"attn_mask_{(noDiagonal ? "nodiag" : "diag")}_{Name(window)}");
        string bias = ctx.BiasInput;                                                                          // [B, 1, S, T]
        if (noDiagonal) bias = b.Node("Add", [bias, Diagonal()], "nodiag/Add");                               // [B, 1, S, T]
        if (window is { } w) bias = b.Node("Add", [bias, Window(w)], "window/Add");                           // [B, 1, S, T]
        return _views[(noDiagonal, window)] = (bias, Attention.MaskView(b, bias));
    }

    /// <summary>
    /// lckv_released_decode, for a layer that reads a higher layer: the attention context over
    /// [C cache slots ++ one zero placeholder ++ S new tokens] (T + 1 keys). For a chunk of at most
    /// <paramref name="passes"/> = R tokens (the released code runs those one token per pass) a query at p admits
    /// keys at p - 2 and before (within p - W .. p - 2 when sliding) and the placeholder (while p &lt; W when sliding);
    /// a longer chunk (the released code's iterative prefill) keeps the no-diagonal mask and blocks the placeholder.
    /// <code>
    ///   short = S &lt;= R
    ///   keys  = Where(short, bias + Where(gap >= 2 [and gap &lt;= W], 0, MaskValue), nodiag [+ window] bias)  [B,1,S,T]
    ///   slot  = Where(short and p &lt; W, 0, MaskValue)                                                      [B,1,S,1]
    ///   Concat(keys[..C], slot, keys[C..]) -> MaskView; grouped and flat shapes with T + 1
    /// </code>
    /// </summary>
    public AttentionContext ReleasedTopContext(int? window, int passes)
    {
        if (_released.TryGetValue(window ?? 0, out var made)) return made;
        string paper = Variant(noDiagonal: true, window).Bias;                                                // [B, 1, S, T]
        using var _ = b.Scope($"attn_mask_released_{Name(window)}");
        string gap = Gap();                                                                                   // [B, S, T]
        string admits = b.Node("GreaterOrEqual", [gap, b.ConstInt64([2], scalar: true)], "behind/GreaterOrEqual"); // [B, S, T]
        if (window is { } w)
            admits = b.Node("And", [admits, b.Node("LessOrEqual", [gap, b.ConstInt64([w], scalar: true)], "window/LessOrEqual")],
                "window/And");                                                                                // [B, S, T]
        string released = b.Node("Where", [admits, Open(), Blocked()], "keys/Where");                       // [B, S, T]
        released = b.Node("Unsqueeze", [released, b.ConstInt64([1])], "keys/Unsqueeze");                     // [B, 1, S, T]
        released = b.Node("Add", [ctx.BiasInput, released], "keys/Add");                                     // [B, 1, S, T]

        string seq = b.NodeN("Shape", "seq/Shape", [ctx.PositionIds], 1, [Attr.Int("start", 1), Attr.Int("end", 2)])[0]; // [1] = S
        string isShort = b.Node("LessOrEqual", [seq, b.ConstInt64([passes])], "short/LessOrEqual");          // [1]
        string keys = b.Node("Where", [isShort, released, paper], "select/Where");                           // [B, 1, S, T]

        string query = b.Node("Unsqueeze", [ctx.PositionIds, b.ConstInt64([1, 3])], "query/Unsqueeze");     // [B, 1, S, 1]
        string slotAdmits = b.Node("Less", [query, b.ConstInt64([window ?? long.MaxValue], scalar: true)], "slot/Less"); // [B, 1, S, 1]
        slotAdmits = b.Node("And", [slotAdmits, isShort], "slot/And");                                       // [B, 1, S, 1]
        string slot = b.Node("Where", [slotAdmits, Open(), Blocked()], "slot/Where");                        // [B, 1, S, 1]

        string zero = b.ConstInt64([0]), last = b.ConstInt64([-1]), end = b.ConstInt64([long.MaxValue]);
        string past = b.Node("Slice", [keys, zero, ctx.Capacity, last], "past/Slice");                      // [B, 1, S, C]
        string fresh = b.Node("Slice", [keys, ctx.Capacity, end, last], "new/Slice");                       // [B, 1, S, S]
        string bias = b.Node("Concat", [past, slot, fresh], "bias/Concat", Attr.Int("axis", -1));           // [B, 1, S, T + 1]
        string grouped = b.Node("Add", [ctx.GroupedShape, b.ConstInt64([0, 0, 0, 0, 1])], "grouped/Add");   // [5] = (B, Hkv, G, S, T + 1)
        string flat = b.Node("Add", [ctx.FlatShape, b.ConstInt64([0, 0, 0, 1])], "flat/Add");                // [4] = (B, Hkv, -1, T + 1)
        return _released[window ?? 0] = ctx with { Mask = Attention.MaskView(b, bias), GroupedShape = grouped, FlatShape = flat };
    }

    private static string Name(int? window) => window?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "full";

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
        string gap = Gap();                                                                                               // [B, S, T]
        using var _ = b.Scope($"attn_mask_window_{window}");
        string inside = b.Node("Less", [gap, b.ConstInt64([window], scalar: true)]);                                      // [B, S, T]
        string bias = b.Node("Where", [inside, Open(), Blocked()]);                                                       // [B, S, T]
        return _windows[window] = b.Node("Unsqueeze", [bias, b.ConstInt64([1])], "bias/Unsqueeze");                       // [B, 1, S, T]
    }

    /// <summary>How many positions each key lies before each query (slot c holds position c, new token k position_ids[k]).
    /// <code>
    ///   q = Unsqueeze(position_ids, -1) [B,S,1];  Concat(q - Range(0, C) [B,S,C], q - Unsqueeze(position_ids, 1) [B,S,S])
    /// </code>
    /// </summary>
    private string Gap()
    {
        if (_gap is not null) return _gap;
        using var _ = b.Scope("attn_mask_gap");
        string zero = b.ConstInt64([0], scalar: true), one = b.ConstInt64([1], scalar: true);
        string query = b.Node("Unsqueeze", [ctx.PositionIds, b.ConstInt64([-1])], "query/Unsqueeze");                    // [B, S, 1]
        string slots = b.Node("Range", [zero, Capacity(), one], "slots/Range");                                          // [C]: slot c holds position c
        string pastGap = b.Node("Sub", [query, slots], "past_gap/Sub");                                                   // [B, S, C]
        string keys = b.Node("Unsqueeze", [ctx.PositionIds, b.ConstInt64([1])], "keys/Unsqueeze");                       // [B, 1, S]
        string newGap = b.Node("Sub", [query, keys], "new_gap/Sub");                                                      // [B, S, S]
        return _gap = b.Node("Concat", [pastGap, newGap], "gap/Concat", Attr.Int("axis", -1));                           // [B, S, T]
    }

    // C as an int64 scalar, for Range.
    private string Capacity() => _capacity ??= b.Node("Squeeze", [ctx.Capacity, b.ConstInt64([0])], "capacity/Squeeze"); // [] = C

    private string Blocked() => b.ConstScalar(GraphNames.MaskValue, TensorProto.Types.DataType.Float);
    private string Open() => b.ConstScalar(0f, TensorProto.Types.DataType.Float);
}
