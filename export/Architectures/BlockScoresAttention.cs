using Condensa.Export.Onnx;

namespace Condensa.Export;

/// <summary>
/// The slots graph's attention for a float32 export of a model with a KV head per query head, as MatMuls
/// (docs/ARCHITECTURE.md, "The slots graph"). ONNX Runtime's CUDA Attention runs float32 on its unfused kernel, which takes
/// a query row's scores with cuBLAS's float32 GEMV: ~0.93 TB/s on an H100 and an H200 alike, where the values' GEMV reads
/// at 96-98 % of either card (docs/benchmarks.md, round 28). Viewing the keys as [C/n, n·D] and the query block-diagonally
/// as [n·D, n] makes one row's scores a GEMM of n columns whose output is the scores in slot order (2.3x the GEMV's rate at
/// n = 4 in round 28). It multiplies the product's work by n, so only a pass of one token a row takes it (a plain step, a
/// draft step); a pass of more takes q·Kᵀ as one product, as the Attention node did, since the block form's scores would
/// need a transpose of their own (a grouped-query model, whose one-token pass has G rows a KV head, keeps the Attention
/// node). The graph does not know its rows until it runs: both forms are built, and the one a pass does not take gets no
/// rows, so its products are empty.
/// <code>
///   r = S' if S' = 1 else 0 (block rows);  n = 4 if C % 4 = 0 else 1;  E = eye(n)·scale as [n,1,n,1]  (once per graph)
///   block (rows 0..r):  q [B,H,r,D] -> [B,H,1,D,1,r] · E -> [B,H,n·D,n·r]                     (block-diagonal)
///                       key [B,H,C/n,n·D] · that -> [B,H,C/n,n·r] -> [B,H,r,C]
///   plain (rows r..S'): q·scale [B,H,S'-r,D] · Transpose(key) -> [B,H,S'-r,C]
///   each: + bias rows -> Softmax -> · value -> [B,H,rows,D];  Concat -> [B,H,S',D]
/// With r at most 1, [r, D] and [D, r] hold the same order, and so do [C/n, n·r] and [r, C]: the block form's layouts
/// change by Reshape alone, so it runs no Transpose.
/// </code>
/// H is the heads (each its own KV head) and S' the pass's tokens a row.
/// </summary>
internal static class BlockScoresAttention
{
    /// <summary>The slots a column of the scores GEMM reads where the pass takes the block form.</summary>
    public const int Block = 4;

    /// <summary>The forms' rows, views and identity, built once per graph from the slot bias [B, 1, S', C] (whose shape gives
    /// the query rows and the slots of every layer).</summary>
    public static ScoreBlocks Blocks(GraphBuilder b, string slotBias, int heads, int headDim, float scale)
    {
        using var _ = b.Scope("score_blocks");
        string batch = b.NodeN("Shape", "batch/Shape", [slotBias], 1, [Attr.Int("start", 0), Attr.Int("end", 1)])[0]; // [1] = B
        string rows = b.NodeN("Shape", "rows/Shape", [slotBias], 1, [Attr.Int("start", 2), Attr.Int("end", 3)])[0];  // [1] = S'
        string slots = b.NodeN("Shape", "slots/Shape", [slotBias], 1, [Attr.Int("start", 3), Attr.Int("end", 4)])[0]; // [1] = C
        string one = b.Node("Equal", [rows, b.ConstInt64([1])], "one_row/Equal");                                    // [1]
        string blockRows = b.Node("Where", [one, rows, b.ConstInt64([0])], "block_rows/Where");                      // [1] = r
        string divides = b.Node("Equal", [b.Node("Mod", [slots, b.ConstInt64([Block])], "slots/Mod"), b.ConstInt64([0])],
            "divides/Equal");                                                                                        // [1]
        string n = b.Node("Where", [divides, b.ConstInt64([Block]), b.ConstInt64([1])], "n/Where");                  // [1] = n
        string index = b.Node("Range", [b.ConstInt64([0], scalar: true), b.Node("Squeeze", [n, b.ConstInt64([0])], "n/Squeeze"),
            b.ConstInt64([1], scalar: true)], "index/Range");                                                        // [n]
        string eye = b.Node("Equal", [b.Node("Unsqueeze", [index, b.ConstInt64([1])], "column/Unsqueeze"),
            b.Node("Unsqueeze", [index, b.ConstInt64([0])], "row/Unsqueeze")], "eye/Equal");                         // [n, n]
        eye = b.Node("Cast", [eye], "eye/Cast", Attr.Int("to", (long)TensorProto.Types.DataType.Float));
        string scaleValue = b.ConstScalar(scale, TensorProto.Types.DataType.Float);
        eye = b.Node("Mul", [eye, scaleValue], "eye_scale/Mul");                                                     // [n, n]
        string identity = b.Node("Reshape", [eye, Shape(b, "identity", n, b.ConstInt64([1]), n, b.ConstInt64([1]))],
            "identity/Reshape");                                                                                     // [n, 1, n, 1]
        string width = b.Node("Mul", [n, b.ConstInt64([headDim])], "width/Mul");                                     // [1] = n·D
        string columns = b.Node("Mul", [n, blockRows], "columns/Mul");                                               // [1] = n·r
        string groups = b.Node("Div", [slots, n], "groups/Div");                                                     // [1] = C/n
        // the empty form's shapes have zeros, so every shape is whole and Reshape takes its zeros as sizes (allowzero)
        string lead = Shape(b, "lead", batch, b.ConstInt64([heads]));                                                // (B, H)
        string zero = b.ConstInt64([0]), last = b.ConstInt64([long.MaxValue]), axis = b.ConstInt64([2]);
        return new ScoreBlocks(
            BlockRows: blockRows,
            Scale: scaleValue,
            Identity: identity,
            RowShape: Shape(b, "row", lead, b.ConstInt64([1, headDim, 1]), blockRows),                               // (B, H, 1, D, 1, r)
            KeysShape: Shape(b, "keys", lead, groups, width),                                                        // (B, H, C/n, n·D)
            QueryShape: Shape(b, "query", lead, width, columns),                                                     // (B, H, n·D, n·r)
            SlotsShape: Shape(b, "slots", lead, blockRows, slots),                                                   // (B, H, r, C)
            BlockBias: b.Node("Slice", [slotBias, zero, blockRows, axis], "block_bias/Slice"),                       // [B, 1, r, C]
            PlainBias: b.Node("Slice", [slotBias, blockRows, last, axis], "plain_bias/Slice"));                      // [B, 1, S'-r, C]
    }

    /// <summary>Attention of q [B, H, S', D] over key and value [B, H, C, D] under the slot bias the blocks were built
    /// from (float32 throughout), scores scaled by the blocks' scale. Returns [B, H, S', D].</summary>
    public static string Build(GraphBuilder b, string q, string key, string value, ScoreBlocks blocks)
    {
        using var _ = b.Scope("block_attention");
        string axis = b.ConstInt64([2]);
        string qBlock = b.Node("Slice", [q, b.ConstInt64([0]), blocks.BlockRows, axis], "q_block/Slice");            // [B, H, r, D]
        string qPlain = b.Node("Slice", [q, blocks.BlockRows, b.ConstInt64([long.MaxValue]), axis], "q_plain/Slice"); // [B, H, S'-r, D]

        qBlock = b.Node("Reshape", [qBlock, blocks.RowShape], "q_block/Reshape", AllowZero);                         // [B, H, 1, D, 1, r]
        string diagonal = b.Node("Mul", [qBlock, blocks.Identity], "diagonal/Mul");                                  // [B, H, n, D, n, r]
        diagonal = b.Node("Reshape", [diagonal, blocks.QueryShape], "diagonal/Reshape", AllowZero);                  // [B, H, n·D, n·r]
        string keys = b.Node("Reshape", [key, blocks.KeysShape], "keys/Reshape", AllowZero);                         // [B, H, C/n, n·D]
        string block = b.Node("MatMul", [keys, diagonal], "block_scores/MatMul");                                    // [B, H, C/n, n·r]
        block = b.Node("Reshape", [block, blocks.SlotsShape], "block_slots/Reshape", AllowZero);                     // [B, H, r, C]

        // ONNX Runtime folds the scale and the keys' Transpose into the MatMul (FusedMatMul), so the keys are read in place
        qPlain = b.Node("Mul", [qPlain, blocks.Scale], "q_plain_scale/Mul");                                        // [B, H, S'-r, D]
        string keysT = b.Node("Transpose", [key], "keys/Transpose", Attr.Ints("perm", 0, 1, 3, 2));                  // [B, H, D, C]
        string plain = b.Node("MatMul", [qPlain, keysT], "plain_scores/MatMul");                                     // [B, H, S'-r, C]

        string outBlock = Weigh(b, "block", block, blocks.BlockBias, value);                                         // [B, H, r, D]
        string outPlain = Weigh(b, "plain", plain, blocks.PlainBias, value);                                         // [B, H, S'-r, D]
        return b.Node("Concat", [outBlock, outPlain], "out/Concat", Attr.Int("axis", 2));                            // [B, H, S', D]
    }

    private static AttributeProto AllowZero => Attr.Int("allowzero", 1);

    // softmax(scores + bias) · value
    private static string Weigh(GraphBuilder b, string form, string scores, string bias, string value)
    {
        scores = b.Node("Add", [scores, bias], $"{form}_bias/Add");
        string probs = b.Node("Softmax", [scores], $"{form}/Softmax", Attr.Int("axis", -1));
        return b.Node("MatMul", [probs, value], $"{form}_out/MatMul");
    }

    // an int64 shape as Reshape takes it, from int64 [k] parts
    private static string Shape(GraphBuilder b, string name, params string[] parts) =>
        b.Node("Concat", parts, $"{name}_shape/Concat", Attr.Int("axis", 0));
}

/// <summary>What every layer's attention shares (<see cref="BlockScoresAttention.Blocks"/>).</summary>
/// <param name="BlockRows">int64 [1]: the query rows of the block form, S' for a pass of one row, else 0.</param>
/// <param name="Scale">float scalar: the scores' scale.</param>
/// <param name="Identity">float [n, 1, n, 1]: the identity, times the scale, that lays a query block-diagonally.</param>
/// <param name="RowShape">int64 [6] = (B, H, 1, D, 1, r).</param>
/// <param name="KeysShape">int64 [4] = (B, H, C/n, n·D), whole, as Reshape with allowzero takes it (so are the others).</param>
/// <param name="QueryShape">int64 [4] = (B, H, n·D, n·r).</param>
/// <param name="SlotsShape">int64 [4] = (B, H, r, C).</param>
/// <param name="BlockBias">float [B, 1, r, C]: the bias rows of the block form.</param>
/// <param name="PlainBias">float [B, 1, S' - r, C]: the bias rows of the plain form.</param>
internal sealed record ScoreBlocks(string BlockRows, string Scale, string Identity, string RowShape, string KeysShape,
    string QueryShape, string SlotsShape, string BlockBias, string PlainBias);
