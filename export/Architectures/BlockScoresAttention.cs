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
/// node). cuBLAS runs the plain form's values' product with a block a head and row, each reducing every slot: at one row
/// of 16 heads, 16 blocks took 54 % of a verification at 7,680 slots (docs/benchmarks.md, round 33), so a pass of few rows
/// and tokens takes the chunked form, whose product is B·H·k blocks of C/k slots (a one-row verification at 7,680 slots:
/// 1.1 ms against 2.1, round 34); its scores and softmax are the plain form's. The graph does not know its rows until
/// it runs: every form is built, and the ones a pass does not take get no rows, so their products are empty.
/// <code>
///   r = S' if S' = 1 else 0 (block rows);  n = 4 if C % 4 = 0 else 1;  E = eye(n)·scale as [n,1,n,1]  (once per graph)
///   block (rows 0..r):  q [B,H,r,D] -> [B,H,1,D,1,r] · E -> [B,H,n·D,n·r]                     (block-diagonal)
///                       key [B,H,C/n,n·D] · that -> [B,H,C/n,n·r] -> [B,H,r,C]
///   k = the most of 8, 4, 2 with B·H·k ≤ 128 dividing C, for S'-r ≤ 32 rows; else 1;  c = S'-r if k > 1 else 0
///   chunked (rows r..r+c):  q·scale [B,H,c,D] · Transpose(key) + bias -> Softmax -> P [B,H,c,C]
///                       P as [B,H,c,k,C/k] -> [B,H,k,c,C/k] · value as [B,H,k,C/k,D] -> [B,H,k,c,D]   (B·H·k blocks)
///                       -> [B,H,k,c·D] -> Transpose · ones [k,1] -> [B,H,c·D,1] -> [B,H,c,D]   (summed over chunks)
///   plain (rows r+c..S'): q·scale [B,H,S'-r-c,D] · Transpose(key) -> [B,H,S'-r-c,C]
///   block, plain: + bias rows -> Softmax -> · value -> [B,H,rows,D];  Concat -> [B,H,S',D]
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
        string oneRow = b.Node("Equal", [rows, b.ConstInt64([1])], "one_row/Equal");                                 // [1]
        string blockRows = b.Node("Where", [oneRow, rows, b.ConstInt64([0])], "block_rows/Where");                   // [1] = r
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
        string plainRows = b.Node("Sub", [rows, blockRows], "plain_rows/Sub");                                       // [1] = S'-r
        string chunks = Chunks(b, batch, heads, plainRows, slots);                                                   // [1] = k
        string chunkSlots = b.Node("Div", [slots, chunks], "chunk_slots/Div");                                       // [1] = C/k
        string one = b.ConstInt64([1]);
        // the chunked form's rows: the plain rows where k > 1, else none (the plain form then takes them, as before)
        string chunkedRows = b.Node("Where", [b.Node("Greater", [chunks, one], "several/Greater"), plainRows, zero],
            "chunked_rows/Where");                                                                                   // [1] = c
        string chunkedEnd = b.Node("Add", [blockRows, chunkedRows], "chunked_end/Add");                              // [1] = r + c
        // the chunked form's probabilities, [B, H, c, C] in slot order, read as k chunks a head: [B, H, c, k, C/k], laid
        // chunk-major as [B, H, k, c, C/k] against the values' chunks, free views of the cache [B, H, k, C/k, D]; the chunks'
        // products then summed by one more, with a column of k ones
        string perChunk = Shape(b, "per_chunk", lead, chunks);                                                       // (B, H, k)
        string ones = b.Node("Expand", [b.ConstScalar(1f, TensorProto.Types.DataType.Float),
            Shape(b, "ones", chunks, one)], "chunk_ones/Expand");                                                     // [k, 1]
        return new ScoreBlocks(
            BlockRows: blockRows,
            ChunkedEnd: chunkedEnd,
            Scale: scaleValue,
            Identity: identity,
            RowShape: Shape(b, "row", lead, b.ConstInt64([1, headDim, 1]), blockRows),                               // (B, H, 1, D, 1, r)
            KeysShape: Shape(b, "keys", lead, groups, width),                                                        // (B, H, C/n, n·D)
            QueryShape: Shape(b, "query", lead, width, columns),                                                     // (B, H, n·D, n·r)
            SlotsShape: Shape(b, "slots", lead, blockRows, slots),                                                   // (B, H, r, C)
            BlockBias: b.Node("Slice", [slotBias, zero, blockRows, axis], "block_bias/Slice"),                       // [B, 1, r, C]
            ChunkedBias: b.Node("Slice", [slotBias, blockRows, chunkedEnd, axis], "chunked_bias/Slice"),            // [B, 1, c, C]
            ProbChunksShape: Shape(b, "prob_chunks", lead, chunkedRows, chunks, chunkSlots),                         // (B, H, c, k, C/k)
            ValueChunksShape: Shape(b, "value_chunks", perChunk, chunkSlots, b.ConstInt64([headDim])),               // (B, H, k, C/k, D)
            ChunkOutShape: Shape(b, "chunk_out", perChunk, b.Node("Mul", [chunkedRows, b.ConstInt64([headDim])],
                "chunk_out/Mul")),                                                                                   // (B, H, k, c·D)
            ChunkedShape: Shape(b, "chunked", lead, chunkedRows, b.ConstInt64([headDim])),                           // (B, H, c, D)
            Ones: ones,
            PlainBias: b.Node("Slice", [slotBias, chunkedEnd, last, axis], "plain_bias/Slice"));                     // [B, 1, S'-r-c, C]
    }

    /// <summary>The most chunks of slots a pass's values' product may be split into.</summary>
    public const int MaxChunks = 8;

    /// <summary>Blocks of the values' product the chunks aim for: B·H·k of them (~ an H100's or H200's 132 multiprocessors).</summary>
    public const int ChunkLanes = 128;

    /// <summary>Passes of at most this many tokens a row may take the chunked form.</summary>
    public const int ChunkedRows = 32;

    // k: the most of 8, 4 and 2 that divides the slots with B·H·k <= 128 lanes, where the pass has at most 32 plain rows;
    // else 1. cuBLAS runs P·V [S', C]·[C, D] with one block a head and row (at one row of 16 heads, 16 blocks each reducing
    // every slot: 54 % of a one-row verification at 7,680 slots on an H100, docs/benchmarks.md, round 33); k chunks make
    // B·H·k blocks
    private static string Chunks(GraphBuilder b, string batch, int heads, string plainRows, string slots)
    {
        string lanes = b.Node("Mul", [batch, b.ConstInt64([heads])], "lanes/Mul");                                    // [1] = B·H
        string chunks = b.ConstInt64([1]);
        for (var k = 2; k <= MaxChunks; k *= 2)
        {
            string fits = b.Node("LessOrEqual", [b.Node("Mul", [lanes, b.ConstInt64([k])], $"lanes_{k}/Mul"),
                b.ConstInt64([ChunkLanes])], $"fits_{k}/LessOrEqual");
            string divides = b.Node("Equal", [b.Node("Mod", [slots, b.ConstInt64([k])], $"slots_{k}/Mod"), b.ConstInt64([0])],
                $"divides_{k}/Equal");
            chunks = b.Node("Where", [b.Node("And", [fits, divides], $"chunks_{k}/And"), b.ConstInt64([k]), chunks], $"chunks_{k}/Where");
        }
        string few = b.Node("LessOrEqual", [plainRows, b.ConstInt64([ChunkedRows])], "few_rows/LessOrEqual");
        return b.Node("Where", [few, chunks, b.ConstInt64([1])], "chunks/Where");
    }

    /// <summary>Attention of q [B, H, S', D] over key and value [B, H, C, D] under the slot bias the blocks were built
    /// from (float32 throughout), scores scaled by the blocks' scale. Returns [B, H, S', D].</summary>
    public static string Build(GraphBuilder b, string q, string key, string value, ScoreBlocks blocks)
    {
        using var _ = b.Scope("block_attention");
        string axis = b.ConstInt64([2]);
        string qBlock = b.Node("Slice", [q, b.ConstInt64([0]), blocks.BlockRows, axis], "q_block/Slice");            // [B, H, r, D]
        string qChunked = b.Node("Slice", [q, blocks.BlockRows, blocks.ChunkedEnd, axis], "q_chunked/Slice");       // [B, H, c, D]
        string qPlain = b.Node("Slice", [q, blocks.ChunkedEnd, b.ConstInt64([long.MaxValue]), axis], "q_plain/Slice"); // [B, H, S'-r-c, D]

        qBlock = b.Node("Reshape", [qBlock, blocks.RowShape], "q_block/Reshape", AllowZero);                         // [B, H, 1, D, 1, r]
        string diagonal = b.Node("Mul", [qBlock, blocks.Identity], "diagonal/Mul");                                  // [B, H, n, D, n, r]
        diagonal = b.Node("Reshape", [diagonal, blocks.QueryShape], "diagonal/Reshape", AllowZero);                  // [B, H, n·D, n·r]
        string keys = b.Node("Reshape", [key, blocks.KeysShape], "keys/Reshape", AllowZero);                         // [B, H, C/n, n·D]
        string block = b.Node("MatMul", [keys, diagonal], "block_scores/MatMul");                                    // [B, H, C/n, n·r]
        block = b.Node("Reshape", [block, blocks.SlotsShape], "block_slots/Reshape", AllowZero);                     // [B, H, r, C]

        string plain = Scores(b, "plain", qPlain, key, blocks.Scale);                                                // [B, H, S'-r-c, C]

        string outBlock = Weigh(b, "block", block, blocks.BlockBias, value);                                         // [B, H, r, D]
        string outChunked = Chunked(b, qChunked, key, value, blocks);                                                // [B, H, c, D]
        string outPlain = Weigh(b, "plain", plain, blocks.PlainBias, value);                                         // [B, H, S'-r-c, D]
        return b.Node("Concat", [outBlock, outChunked, outPlain], "out/Concat", Attr.Int("axis", 2));                // [B, H, S', D]
    }

    // the chunked form: the plain form's probabilities, each head's product with its values split into k chunks of slots
    // (k blocks a head, where cuBLAS runs the plain product with one), the chunks' outputs summed by a product with ones
    private static string Chunked(GraphBuilder b, string q, string key, string value, ScoreBlocks blocks)
    {
        string probs = Probabilities(b, "chunked", Scores(b, "chunked", q, key, blocks.Scale), blocks.ChunkedBias);  // [B, H, c, C]
        probs = b.Node("Reshape", [probs, blocks.ProbChunksShape], "prob_chunks/Reshape", AllowZero);               // [B, H, c, k, C/k]
        probs = b.Node("Transpose", [probs], "prob_chunks/Transpose", Attr.Ints("perm", 0, 1, 3, 2, 4));            // [B, H, k, c, C/k]
        string values = b.Node("Reshape", [value, blocks.ValueChunksShape], "value_chunks/Reshape", AllowZero);     // [B, H, k, C/k, D]
        string partial = b.Node("MatMul", [probs, values], "chunked_out/MatMul");                                    // [B, H, k, c, D]
        partial = b.Node("Reshape", [partial, blocks.ChunkOutShape], "chunk_out/Reshape", AllowZero);               // [B, H, k, c·D]
        // ONNX Runtime folds this Transpose into the MatMul too (its left operand read transposed)
        partial = b.Node("Transpose", [partial], "chunk_out/Transpose", Attr.Ints("perm", 0, 1, 3, 2));             // [B, H, c·D, k]
        string sum = b.Node("MatMul", [partial, blocks.Ones], "chunk_sum/MatMul");                                   // [B, H, c·D, 1]
        return b.Node("Reshape", [sum, blocks.ChunkedShape], "chunked/Reshape", AllowZero);                          // [B, H, c, D]
    }

    private static AttributeProto AllowZero => Attr.Int("allowzero", 1);

    // q·scale · keysᵀ [B, H, rows, C]. ONNX Runtime folds the scale and the keys' Transpose into the MatMul (FusedMatMul), so
    // the keys are read in place; each form has a Transpose of its own, the one its MatMul folds (what rounds 33-34 measured)
    private static string Scores(GraphBuilder b, string form, string q, string key, string scale)
    {
        q = b.Node("Mul", [q, scale], $"q_{form}_scale/Mul");
        string keysT = b.Node("Transpose", [key], $"{form}_keys/Transpose", Attr.Ints("perm", 0, 1, 3, 2));         // [B, H, D, C]
        return b.Node("MatMul", [q, keysT], $"{form}_scores/MatMul");
    }

    // softmax(scores + bias) · value
    private static string Weigh(GraphBuilder b, string form, string scores, string bias, string value) =>
        b.Node("MatMul", [Probabilities(b, form, scores, bias), value], $"{form}_out/MatMul");

    // softmax(scores + bias)
    private static string Probabilities(GraphBuilder b, string form, string scores, string bias) =>
        b.Node("Softmax", [b.Node("Add", [scores, bias], $"{form}_bias/Add")], $"{form}/Softmax", Attr.Int("axis", -1));

    // an int64 shape as Reshape takes it, from int64 [k] parts
    private static string Shape(GraphBuilder b, string name, params string[] parts) =>
        b.Node("Concat", parts, $"{name}_shape/Concat", Attr.Int("axis", 0));
}

/// <summary>What every layer's attention shares (<see cref="BlockScoresAttention.Blocks"/>).</summary>
/// <param name="BlockRows">int64 [1]: the query rows of the block form, S' for a pass of one row, else 0.</param>
/// <param name="ChunkedEnd">int64 [1]: r + c, where the chunked form's rows end and the plain form's begin.</param>
/// <param name="Scale">float scalar: the scores' scale.</param>
/// <param name="Identity">float [n, 1, n, 1]: the identity, times the scale, that lays a query block-diagonally.</param>
/// <param name="RowShape">int64 [6] = (B, H, 1, D, 1, r).</param>
/// <param name="KeysShape">int64 [4] = (B, H, C/n, n·D), whole, as Reshape with allowzero takes it (so are the others).</param>
/// <param name="QueryShape">int64 [4] = (B, H, n·D, n·r).</param>
/// <param name="SlotsShape">int64 [4] = (B, H, r, C).</param>
/// <param name="BlockBias">float [B, 1, r, C]: the bias rows of the block form.</param>
/// <param name="ChunkedBias">float [B, 1, c, C]: the bias rows of the chunked form.</param>
/// <param name="ProbChunksShape">int64 [5] = (B, H, c, k, C/k): the chunked form's probabilities in chunks of slots.</param>
/// <param name="ValueChunksShape">int64 [5] = (B, H, k, C/k, D): the values in chunks of slots.</param>
/// <param name="ChunkOutShape">int64 [4] = (B, H, k, c·D): each chunk's product with its values, a row a chunk.</param>
/// <param name="ChunkedShape">int64 [4] = (B, H, c, D): the chunked form's output.</param>
/// <param name="Ones">float [k, 1]: ones, whose product with the chunks' outputs sums them.</param>
/// <param name="PlainBias">float [B, 1, S' - r - c, C]: the bias rows of the plain form.</param>
internal sealed record ScoreBlocks(string BlockRows, string ChunkedEnd, string Scale, string Identity, string RowShape,
    string KeysShape, string QueryShape, string SlotsShape, string BlockBias, string ChunkedBias, string ProbChunksShape,
    string ValueChunksShape, string ChunkOutShape, string ChunkedShape, string Ones, string PlainBias);
