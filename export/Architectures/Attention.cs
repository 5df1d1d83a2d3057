using Condensa.Export.Onnx;

namespace Condensa.Export;

/// <summary>
/// Attention over [the C cache slots ++ the S new tokens] without concatenating KV (docs/ARCHITECTURE.md):
/// queries are scored against the past and the new keys separately, the score blocks are concatenated,
/// biased, softmaxed in float32, split, and the two value products summed. GQA views the queries as
/// [B, Hkv, G·S, D] so KV heads are never repeated.
/// </summary>
internal static class Attention
{
    /// <summary>
    /// Builds what all layers share: rotary caches, the grouped bias, the row-admits mask and the shapes; for a longrope
    /// export past its original context also the rotary positions that pick the long-factor rows (<see cref="Rope.LongPositions"/>).
    /// <code>
    ///   bias [B,1,S,T] (BiasFromSpans, T = C + S) -> MaskView = (Bias [B,1,1,S,T], RowAdmits [B,1,1,S,1])
    ///   Shape(bias) -> (B, Hkv, G, S, T) and (B, Hkv, -1, T)
    /// </code>
    /// </summary>
    public static AttentionContext Prepare(GraphBuilder b, HfConfig config, string positionIds, string bias, string pastKey0,
        TensorProto.Types.DataType modelType)
    {
        var (cos, sin) = Rope.Tables(b, config.Rope, config.HeadDim, config.MaxPositionEmbeddings, modelType);
        string? rotaryPositions = config.Rope.LongRowsOffset(config.MaxPositionEmbeddings) is { } offset
            ? Rope.LongPositions(b, positionIds, offset) : null;                                                       // [B, S]
        using var _ = b.Scope("attn_mask");
        int groups = config.NumHeads / config.NumKvHeads;

        var mask = MaskView(b, bias);
        string batch = b.NodeN("Shape", "batch/Shape", [bias], 1, [Attr.Int("start", 0), Attr.Int("end", 1)])[0];         // [1] = B
        string seqTotal = b.NodeN("Shape", "seq_total/Shape", [bias], 1, [Attr.Int("start", 2), Attr.Int("end", 4)])[0];  // [2] = S, T
        string total = b.NodeN("Shape", "total/Shape", [bias], 1, [Attr.Int("start", 3), Attr.Int("end", 4)])[0];         // [1] = T
        string grouped = b.Node("Concat", [batch, b.ConstInt64([config.NumKvHeads, groups]), seqTotal], "grouped/Concat",
            Attr.Int("axis", 0));                                                                                           // [5]
        string flat = b.Node("Concat", [batch, b.ConstInt64([config.NumKvHeads, -1]), total], "flat/Concat",
            Attr.Int("axis", 0));                                                                                           // [4]
        string capacity = Capacity(b, pastKey0);                                                                           // [1] = C
        return new AttentionContext(cos, sin, mask, grouped, flat, capacity, bias, positionIds) { LongRopePositions = rotaryPositions };
    }

    /// <summary>
    /// The attention bias over [the C cache slots ++ the S new tokens] that the layers read, built on the device from the
    /// host's compact mask (exporter 17; before it the host sent this [B, 1, S, C + S] tensor itself, 4 bytes a token, slot
    /// and row every pass): each new token sees the cache slots of its span, [first, end), and the new tokens attention_new
    /// admits.
    /// <code>
    ///   t = 0 .. C - 1 [C];  first, end = attention_span[..., 0 | 1] [B, S, 1]
    ///   bias = Concat(Where(first &lt;= t &lt; end, 0, MaskValue) [B, 1, S, C], attention_new [B, 1, S, S], axis 3)
    /// </code>
    /// </summary>
    public static string BiasFromSpans(GraphBuilder b, string spans, string newBias, string pastKey0)
    {
        using var _ = b.Scope("attention_bias");
        var f32 = TensorProto.Types.DataType.Float;
        string slots = SlotIndices(b, pastKey0);                                                                             // [C] = t
        string first = b.Node("Gather", [spans, b.ConstInt64([0])], "first/Gather", Attr.Int("axis", 2));                     // [B, S, 1]
        string end = b.Node("Gather", [spans, b.ConstInt64([1])], "end/Gather", Attr.Int("axis", 2));                         // [B, S, 1]
        string admits = b.Node("And", [b.Node("LessOrEqual", [first, slots], "first/LessOrEqual"),
            b.Node("Less", [slots, end], "end/Less")], "admits/And");                                                          // [B, S, C]
        string past = b.Node("Where", [admits, b.ConstScalar(0f, f32), b.ConstScalar(GraphNames.MaskValue, f32)], "past/Where");
        past = b.Node("Unsqueeze", [past, b.ConstInt64([1])], "past/Unsqueeze");                                              // [B, 1, S, C]
        return b.Node("Concat", [past, newBias], "Concat", Attr.Int("axis", 3));                                              // [B, 1, S, C + S]
    }

    /// <summary>cap · tanh(x / cap) of a float32 x (Gemma 2's soft-capping of attention scores and of logits).</summary>
    public static string SoftCap(GraphBuilder b, string scope, string x, double cap)
    {
        using var _ = b.Scope(scope);
        var f32 = TensorProto.Types.DataType.Float;
        string t = b.Node("Tanh", [b.Node("Div", [x, b.ConstScalar((float)cap, f32)])]);
        return b.Node("Mul", [t, b.ConstScalar((float)cap, f32)]);
    }

    /// <summary>The causal graph's shared values: the rotary caches, which GroupQueryAttention reads itself. A longrope
    /// export's are the general graph's tables (one copy in the weights file), of which the causal graphs read only the
    /// short rows: they cannot switch to the long ones, so the runtime sends them passes within the original context
    /// alone (the manifest's causal_max_context).</summary>
    public static AttentionContext PrepareCausal(GraphBuilder b, HfConfig config, TensorProto.Types.DataType modelType, string positionIds)
    {
        var (cos, sin) = Rope.Tables(b, config.Rope, config.HeadDim, config.MaxPositionEmbeddings, modelType);
        return AttentionContext.ForCausal(cos, sin, positionIds);
    }

    /// <summary>
    /// The multi-row causal graph's shared values, from seqlens_k (each row's length after the pass, minus one), the
    /// pass's input_ids [B, S] and position_ids [B, S]: the rotary caches, the rows' lengths, the slot of every new token
    /// and, for grouped-query models, the causal bias of the grouped queries over those slots (<see cref="GroupedCausalBias"/>;
    /// not built when <paramref name="groupedBias"/> is false, for a graph whose attention needs no bias). q and k rotate at
    /// position_ids, which equal the slots in a cache that keeps every position and not in a budgeted one. Every value is
    /// computed on the device from device inputs (a host-side Range would need a copy that a captured CUDA graph cannot
    /// replay): the S - j tokens from new token j to the pass's end come from a reversed CumSum of ones.
    /// <code>
    ///   total = seqlens_k + 1 [B];  slots = total[:, None] - CumSum(ones [B, S], reverse) [B, S];  write = slots[:, 0] [B]
    /// </code>
    /// </summary>
    public static AttentionContext PrepareCausalRows(GraphBuilder b, HfConfig config, TensorProto.Types.DataType modelType, string inputIds,
        string positionIds, string pastKey0, bool groupedBias = true)
    {
        var (cos, sin) = Rope.Tables(b, config.Rope, config.HeadDim, config.MaxPositionEmbeddings, modelType);   // short rows read only
        using var _ = b.Scope("row_lengths");
        var i64 = TensorProto.Types.DataType.Int64;
        string lengths = b.Node("Cast", [GraphNames.SeqLensK], "seqlens/Cast", Attr.Int("to", (long)i64));                // [B]
        string total = b.Node("Add", [lengths, b.ConstInt64([1])], "total/Add");                                             // [B]
        string remaining = b.Node("CumSum", [Ones(b, "ids", b.Node("Shape", [inputIds], "ids/Shape")), b.ConstInt64([1], scalar: true)],
            "remaining/CumSum", Attr.Int("reverse", 1));                                                                     // [B, S] = S - j
        string slots = b.Node("Sub", [b.Node("Unsqueeze", [total, b.ConstInt64([1])], "total/Unsqueeze"), remaining],
            "slots/Sub");                                                                                                      // [B, S]
        string write = b.Node("Gather", [slots, b.ConstInt64([0], scalar: true)], "write/Gather", Attr.Int("axis", 1));       // [B]
        int groups = config.NumHeads / config.NumKvHeads;
        string? bias = groupedBias && groups > 1 ? GroupedCausalBias(b, slots, pastKey0, groups, modelType) : null;
        return AttentionContext.ForCausalRows(cos, sin, positionIds, new CausalRowLengths(write, total, bias));
    }

    /// <summary>
    /// The slots graph's shared values: the rotary caches (and a longrope export's long-factor positions, as in the general
    /// graph) and the bias over the cache with the pass's entries written (<see cref="SlotBias"/>).
    /// </summary>
    public static AttentionContext PrepareSlots(GraphBuilder b, HfConfig config, string positionIds, string bias, string pastKey0,
        TensorProto.Types.DataType modelType)
    {
        var (cos, sin) = Rope.Tables(b, config.Rope, config.HeadDim, config.MaxPositionEmbeddings, modelType);
        string? rotaryPositions = config.Rope.LongRowsOffset(config.MaxPositionEmbeddings) is { } offset
            ? Rope.LongPositions(b, positionIds, offset) : null;                                                       // [B, S]
        string slotBias = SlotBias(b, bias, pastKey0, config.NumHeads / config.NumKvHeads, modelType);
        // a grouped-query model's one-token pass has G rows a KV head, which the block form would not take
        var blocks = modelType == TensorProto.Types.DataType.Float && config.NumHeads == config.NumKvHeads
            ? BlockScoresAttention.Blocks(b, slotBias, config.NumHeads, config.HeadDim, (float)config.AttentionScale) : null;
        return AttentionContext.ForSlots(cos, sin, positionIds, rotaryPositions, slotBias) with { ScoreBlocks = blocks };
    }

    /// <summary>
    /// The attention bias [B, 1, S, C + S] (<see cref="BiasFromSpans"/>) folded onto the cache's slots, for a pass whose
    /// entries the graph has written into their slots (kv_write_index) before it attends: column C + k, whether a query sees
    /// new token k, moves to the column of the slot token k was written to, where the bias blocks every query (a row's next
    /// slots, past the ones it fills). Padding entries all go to the scratch slot with columns
    /// that block, so the slot stays blocked. Then in the model's type, blocked at the type's floor (finite: a row that
    /// admits nothing, padding, averages finite values instead of turning NaN), and tiled for the queries viewed as G·S rows
    /// per KV head (<see cref="GroupedCausalBias"/> says why).
    /// <code>
    ///   slots = kv_write_index[:, 0, :, 2] [B, S]
    ///   bias = ScatterElements(bias[..., :C], slots [B, 1, S, S], bias[..., C:], axis 3) [B, 1, S, C]
    ///   -> Max(floor), Cast -> Tile(1, 1, G, 1) [B, 1, G·S, C]
    /// </code>
    /// </summary>
    private static string SlotBias(GraphBuilder b, string bias, string pastKey0, int groups, TensorProto.Types.DataType modelType)
    {
        using var _ = b.Scope("slot_bias");
        var axis3 = b.ConstInt64([3]);
        string capacity = Capacity(b, pastKey0);                                                                           // [1] = C
        string total = b.NodeN("Shape", "total/Shape", [bias], 1, [Attr.Int("start", 3), Attr.Int("end", 4)])[0];          // [1] = C + S
        string past = b.Node("Slice", [bias, b.ConstInt64([0]), capacity, axis3], "past/Slice");                             // [B, 1, S, C]
        string news = b.Node("Slice", [bias, capacity, total, axis3], "new/Slice");                                          // [B, 1, S, S]
        string heads0 = b.Node("Gather", [GraphNames.KvWriteIndex, b.ConstInt64([0], scalar: true)], "head0/Gather",
            Attr.Int("axis", 1));                                                                                              // [B, S, 3]
        string slots = b.Node("Gather", [heads0, b.ConstInt64([2], scalar: true)], "slots/Gather", Attr.Int("axis", 2));     // [B, S]
        slots = b.Node("Unsqueeze", [slots, b.ConstInt64([1, 2])], "slots/Unsqueeze");                                        // [B, 1, 1, S]
        slots = b.Node("Expand", [slots, b.Node("Shape", [news], "new/Shape")], "slots/Expand");                              // [B, 1, S, S]
        string folded = b.Node("ScatterElements", [past, slots, news], "fold/ScatterElements", Attr.Int("axis", 3));          // [B, 1, S, C]
        if (modelType != TensorProto.Types.DataType.Float)
        {
            folded = b.Node("Max", [folded, b.ConstScalar(MaskFloor(modelType), TensorProto.Types.DataType.Float)], "floor/Max");
            folded = b.Node("Cast", [folded], "Cast", Attr.Int("to", (long)modelType));                                       // [B, 1, S, C]
        }
        return groups == 1 ? folded : b.Node("Tile", [folded, b.ConstInt64([1, 1, groups, 1])], "rows/Tile");                  // [B, 1, G·S, C]
    }

    /// <summary>
    /// The bias [B, 1, G·S, C] of a pass's queries viewed as G·S rows per KV head (query head h = kvh·G + g, so the view
    /// is a plain reshape and row r is new token r mod S): 0 where the row's token may see cache slot t (t at or before
    /// its own slot), the type's floor elsewhere. Why view them so: ONNX Runtime's CUDA Attention reads the cache once per
    /// query head for several query tokens (flash attention's forward kernel, no GQA packing), 8 times a decode step's
    /// read on a 32-head, 4-KV-head model; as G·S rows of Hkv heads it reads it once per KV head, and the bias adds
    /// G·S / (2·D) of that read (1/4 at S = 4, G = 8, D = 64). The bottom-right causal flag cannot stand in for it: it
    /// would align row r, not token r mod S, with the last slot.
    /// <code>
    ///   t = CumSum(ones [C], exclusive) [C];  rows = Tile(newSlots, [1, G]) [B, G·S]
    ///   bias = Where(t [1, 1, C] &lt;= rows [B, G·S, 1], 0, floor) -> Unsqueeze(1) [B, 1, G·S, C]
    /// </code>
    /// </summary>
    private static string GroupedCausalBias(GraphBuilder b, string newSlots, string pastKey0, int groups, TensorProto.Types.DataType modelType)
    {
        using var _ = b.Scope("grouped_bias");
        string slots = SlotIndices(b, pastKey0);                                                                             // [C] = t
        string rows = b.Node("Tile", [newSlots, b.ConstInt64([1, groups])], "rows/Tile");                                     // [B, G·S]
        rows = b.Node("Unsqueeze", [rows, b.ConstInt64([2])], "rows/Unsqueeze");                                               // [B, G·S, 1]
        string sees = b.Node("LessOrEqual", [slots, rows], "sees/LessOrEqual");                                                // [B, G·S, C]
        string bias = b.Node("Where", [sees, b.ConstScalar(0f, modelType), b.ConstScalar(MaskFloor(modelType), modelType)],
            "bias/Where");                                                                                                     // [B, G·S, C]
        return b.Node("Unsqueeze", [bias, b.ConstInt64([1])], "bias/Unsqueeze");                                               // [B, 1, G·S, C]
    }

    /// <summary>
    /// The bias [B, 1, <paramref name="rows"/>, C] of one query per row, viewed as <paramref name="rows"/> query rows per KV
    /// head (ONNX Runtime's Attention wants the mask's query dimension whole), over a full cache's slots (slot = position):
    /// 0 where <paramref name="from"/>[b] &lt;= t &lt; <paramref name="to"/>[b] (int64 [B] each), the type's floor elsewhere.
    /// <code>
    ///   slots = CumSum(ones [C], exclusive) [C];  Where(from[:, None] &lt;= slots &lt; to[:, None], 0, floor) [B, C] -> [B, 1, rows, C]
    /// </code>
    /// </summary>
    public static string SlotRangeBias(GraphBuilder b, string pastKey0, string from, string to, int rows, TensorProto.Types.DataType modelType)
    {
        string slots = SlotIndices(b, pastKey0);                                                                             // [C] = t
        // LessOrEqual and Where alone, the ops the multi-row graph's bias runs captured on cuda
        string first = b.Node("Unsqueeze", [from, b.ConstInt64([1])], "from/Unsqueeze");                                       // [B, 1]
        string last = b.Node("Unsqueeze", [b.Node("Sub", [to, b.ConstInt64([1])], "last/Sub"), b.ConstInt64([1])],
            "last/Unsqueeze");                                                                                                  // [B, 1]
        string floor = b.ConstScalar(MaskFloor(modelType), modelType);
        string upTo = b.Node("Where", [b.Node("LessOrEqual", [slots, last], "last/LessOrEqual"), b.ConstScalar(0f, modelType), floor],
            "last/Where");                                                                                                     // [B, C]
        string bias = b.Node("Where", [b.Node("LessOrEqual", [first, slots], "from/LessOrEqual"), upTo, floor], "bias/Where");  // [B, C]
        bias = b.Node("Unsqueeze", [bias, b.ConstInt64([1, 2])], "bias/Unsqueeze");                                            // [B, 1, 1, C]
        return b.Node("Expand", [bias, b.ConstInt64([1, 1, rows, 1])], "bias/Expand");                                         // [B, 1, rows, C]
    }

    // A blocked slot's bias: float16's lowest finite value, or -1e30 in wider types. Finite, because CUTLASS's kernels
    // scale scores by log2(e) before the softmax and an infinity there turns a row into NaN; -1e30 leaves exp() at 0.
    private static float MaskFloor(TensorProto.Types.DataType modelType) =>
        modelType == TensorProto.Types.DataType.Float16 ? -65504f : -1e30f;

    // C, the cache's slots per row, from past.{l} [B, Hkv, C, D]: int64 [1]
    private static string Capacity(GraphBuilder b, string pastKey0) =>
        b.NodeN("Shape", "capacity/Shape", [pastKey0], 1, [Attr.Int("start", 2), Attr.Int("end", 3)])[0];

    // 0, 1 .. C - 1, each slot's index: int64 [C] (a CumSum of ones, computed on the device)
    private static string SlotIndices(GraphBuilder b, string pastKey0) =>
        b.Node("CumSum", [Ones(b, "slots", Capacity(b, pastKey0)), b.ConstInt64([0], scalar: true)], "slots/CumSum", Attr.Int("exclusive", 1));

    // int64 ones of the given shape (a 1-D int64 tensor)
    private static string Ones(GraphBuilder b, string scope, string shape) =>
        b.Node("ConstantOfShape", [shape], $"{scope}/ConstantOfShape",
            Attr.Tensor("value", new TensorProto { DataType = (int)TensorProto.Types.DataType.Int64, Dims = { 1 }, Int64Data = { 1L } }));

    /// <summary>
    /// Views a bias [B, 1, S, T] for the core, in the current scope.
    /// <code>
    ///   bias -> ReduceMax(-1) -> Greater(MaskValue/2) -> Unsqueeze(2) = RowAdmits [B,1,1,S,1]
    ///   bias -> Unsqueeze(2) = Bias [B,1,1,S,T]
    /// </code>
    /// </summary>
    public static AttentionMaskView MaskView(GraphBuilder b, string bias)
    {
        string rowMax = b.Node("ReduceMax", [bias, b.ConstInt64([-1])], attributes: Attr.Int("keepdims", 1));               // [B, 1, S, 1]
        string admits = b.Node("Greater", [rowMax, b.ConstScalar(GraphNames.MaskValue / 2, TensorProto.Types.DataType.Float)]); // [B, 1, S, 1]
        admits = b.Node("Unsqueeze", [admits, b.ConstInt64([2])], "admits/Unsqueeze");                                     // [B, 1, 1, S, 1]
        string bias5 = b.Node("Unsqueeze", [bias, b.ConstInt64([2])], "bias/Unsqueeze");                                     // [B, 1, 1, S, T]
        return new AttentionMaskView(bias5, admits);
    }

    /// <summary>
    /// One layer's attention core. q: [B, H, S, D] (rotated), k and v: [B, Hkv, S, D] (k rotated),
    /// past: [B, Hkv, C, D]; <paramref name="mask"/> defaults to the attention bias. Returns [B, S, H·D], ready for o_proj.
    /// <code>
    ///   q·scale -> Reshape [B,Hkv,G·S,D] -+-> MatMul(past_kᵀ) [..,C] -+
    ///                                     +-> MatMul(kᵀ)      [..,S] -+-> Concat -> Cast(f32) -> Reshape [B,Hkv,G,S,T]
    ///   -> Add(bias) -> Softmax -> Where(admits, p, 0) -> Reshape [B,Hkv,G·S,T] -> Cast -+-> Slice[:C] -> MatMul(past_v) -+
    ///                                                                                    +-> Slice[C:] -> MatMul(v) ------+-> Add
    ///   -> Reshape [B,H,S,D] -> Transpose [B,S,H,D] -> Reshape [B,S,H·D]
    /// </code>
    /// </summary>
    public static string Core(GraphBuilder b, AttentionContext ctx, HfConfig config, TensorProto.Types.DataType modelType,
        string q, string k, string v, string pastKey, string pastValue, AttentionMaskView? mask = null)
    {
        mask ??= ctx.Mask;
        int heads = config.NumHeads, kvHeads = config.NumKvHeads, headDim = config.HeadDim;
        var f32 = TensorProto.Types.DataType.Float;

        // Scaling q rather than the scores costs G·S·D multiplies instead of G·S·(C+S), and keeps fp16 scores small.
        float scale = (float)config.AttentionScale;
        string qs = b.Node("Mul", [q, b.ConstScalar(scale, modelType)], "q_scale/Mul");                     // [B, H, S, D]
        string qg = b.Node("Reshape", [qs, b.ConstInt64([0, kvHeads, -1, headDim])], "q_group/Reshape");     // [B, Hkv, G·S, D]

        // 1) scores against the past and the new keys, separately
        string pastKt = b.Node("Transpose", [pastKey], "past_key/Transpose", Attr.Ints("perm", 0, 1, 3, 2)); // [B, Hkv, D, C]
        string sPast = b.Node("MatMul", [qg, pastKt], "scores_past/MatMul");                                 // [B, Hkv, G·S, C]
        string kt = b.Node("Transpose", [k], "key/Transpose", Attr.Ints("perm", 0, 1, 3, 2));                // [B, Hkv, D, S]
        string sNew = b.Node("MatMul", [qg, kt], "scores_new/MatMul");                                        // [B, Hkv, G·S, S]
        string scores = b.Node("Concat", [sPast, sNew], "scores/Concat", Attr.Int("axis", -1));               // [B, Hkv, G·S, T]
        if (modelType != f32)
            scores = b.Node("Cast", [scores], "scores/Cast", Attr.Int("to", (long)f32));                      // [B, Hkv, G·S, T]
        if (config.AttnLogitSoftcapping is { } cap)
            scores = SoftCap(b, "scores_softcap", scores, cap);                                               // [B, Hkv, G·S, T]

        // 2) bias and float32 softmax per query group; rows that admit nothing become exactly 0
        scores = b.Node("Reshape", [scores, ctx.GroupedShape], "scores/Reshape");                             // [B, Hkv, G, S, T]
        scores = b.Node("Add", [scores, mask.Bias], "bias/Add");                                               // [B, Hkv, G, S, T]
        string probs = b.Node("Softmax", [scores], "Softmax", Attr.Int("axis", -1));                         // [B, Hkv, G, S, T]
        // Where rather than Mul: also zeroes the NaN a row of -inf would produce.
        probs = b.Node("Where", [mask.RowAdmits, probs, b.ConstScalar(0f, f32)], "admits/Where");             // [B, Hkv, G, S, T]
        probs = b.Node("Reshape", [probs, ctx.FlatShape], "probs/Reshape");                                   // [B, Hkv, G·S, T]
        if (modelType != f32)
            probs = b.Node("Cast", [probs], "probs/Cast", Attr.Int("to", (long)modelType));

        // 3) split the probabilities and sum the two value products
        string zero = b.ConstInt64([0]), last = b.ConstInt64([-1]), end = b.ConstInt64([long.MaxValue]);
        string pPast = b.Node("Slice", [probs, zero, ctx.Capacity, last], "probs_past/Slice");               // [B, Hkv, G·S, C]
        string pNew = b.Node("Slice", [probs, ctx.Capacity, end, last], "probs_new/Slice");                  // [B, Hkv, G·S, S]
        string oPast = b.Node("MatMul", [pPast, pastValue], "out_past/MatMul");                               // [B, Hkv, G·S, D]
        string oNew = b.Node("MatMul", [pNew, v], "out_new/MatMul");                                          // [B, Hkv, G·S, D]
        string o = b.Node("Add", [oPast, oNew], "out/Add");                                                   // [B, Hkv, G·S, D]

        // 4) back to [B, S, H·D]
        o = b.Node("Reshape", [o, b.ConstInt64([0, heads, -1, headDim])], "out_heads/Reshape");               // [B, H, S, D]
        o = b.Node("Transpose", [o], "out/Transpose", Attr.Ints("perm", 0, 2, 1, 3));                         // [B, S, H, D]
        return b.Node("Reshape", [o, b.ConstInt64([0, 0, heads * headDim])], "out/Reshape");                  // [B, S, H·D]
    }
}
