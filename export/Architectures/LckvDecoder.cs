namespace Condensa.Export;

/// <summary>
/// LCKVLlamaForCausalLM (layer-condensed KV, DESIGN.md §4): the Llama graph where layer i attends to the KV of
/// layer layer_types[i], only the stored layers (set(layer_types)) have k/v projections and KV inputs/outputs,
/// and a layer that reads a higher layer t takes t's KV for the new tokens from the input pending.{t}.
/// <code>
///   layer i, source t = layer_types[i]:
///     t &lt;= i: keys = past.{t} ++ new KV of t from this pass (computed at layer t, earlier in the graph)
///     t &gt;  i: keys = past.{t} ++ pending.{t}, with no diagonal (query j sees pending keys k &lt; j only)
///   force_nodiag drops the diagonal in every layer; an s suffix limits the layer to the sliding window.
/// </code>
/// Decode feeds zeros as pending (fully masked, so exact); a prefill chunk iterates the graph, feeding each
/// pass's new.{t} as the next pass's pending.{t}. With lckv_released_decode a layer that reads a higher layer also
/// attends to a zero placeholder key ahead of the new tokens, as whyNLP/LCKV's released code does (<see cref="LckvMasks.ReleasedTopContext"/>).
/// </summary>
internal sealed class LckvDecoder(HfConfig config, DecoderWeights weights) : LlamaDecoder(config, weights)
{
    private readonly LckvSettings _lckv = config.Lckv
        ?? throw new ExportException($"config.json: {LckvSettings.Architecture} without 'layer_types'.");
    private readonly Dictionary<int, (string Key, string Value)> _newKv = [];
    private LckvMasks? _masks;
    private string? _placeholder;

    private readonly Dictionary<int, (string Key, string Value)> _written = [];   // the causal graph's present.{t}, by stored layer
    private readonly Dictionary<(string Seen, int Window), string> _windowBiases = [];
    private string? _lengthsBefore;

    /// <summary>
    /// The causal graph, for decode steps (one new token per row, <see cref="DecodeAttention"/>): not with the released
    /// code's placeholder, on heads the standard causal graph takes. Prefill chunks, which iterate, stay on the general graph.
    /// </summary>
    public override bool HasCausalGraph => base.HasCausalGraph && !_lckv.ReleasedDecode;

    /// <summary>None: a multi-token pass of a layer-condensed model iterates (the general graph's pending inputs).</summary>
    public override bool HasCausalRowsGraph => false;

    /// <summary>The decode graph's shared values: the rotary tables, each row's position and lengths from seqlens_k; no
    /// grouped causal bias, since one query per row sees every slot it reads.</summary>
    protected override AttentionContext PrepareCausal(GraphBuilder b, string inputIds, string positionIds) =>
        Attention.PrepareCausalRows(b, Config, ModelType, inputIds, positionIds, GraphNames.PastKey(KvLayers[0]), groupedBias: false);

    /// <inheritdoc/>
    public override IReadOnlyList<int> LayerKvSource => _lckv.LayerTypes.Sources;

    /// <summary>pending.{t}.key / .value [B, Hkv, S, D] for every layer t that a lower layer reads.</summary>
    protected override void AddExtraInputs(GraphBuilder b)
    {
        const string B = GraphNames.DimBatch, S = GraphNames.DimSequence;
        foreach (int t in _lckv.Condensation.PendingLayers)
        {
            b.Input(GraphNames.PendingKey(t), ModelType, B, Config.NumKvHeads, S, Config.HeadDim);           // [B, Hkv, S, D]
            b.Input(GraphNames.PendingValue(t), ModelType, B, Config.NumKvHeads, S, Config.HeadDim);         // [B, Hkv, S, D]
        }
    }

    /// <inheritdoc/>
    protected override string SelfAttention(GraphBuilder b, AttentionContext ctx, string h, int layer)
    {
        if (ctx.Causal) return Output(b, DecodeAttention(b, ctx.KvLengths!, ctx, h, layer), layer);                // [B, 1, H]
        _masks ??= new LckvMasks(b, ctx);
        string q;
        if (_lckv.Condensation.StoredLayers.Contains(layer))
        {
            var (qProj, kProj, vProj) = QueryKeyValue(b, h, layer);                                          // [B, S, ·] each
            q = Query(b, ctx, qProj, layer);                                                                        // [B, H, S, D]
            _newKv[layer] = KeyValue(b, ctx, kProj, vProj, layer);                                                 // [B, Hkv, S, D] each
        }
        else
        {
            q = Query(b, ctx, QueryProjection(b, h, layer), layer);                                                 // [B, H, S, D]
        }

        // The source's KV for the new tokens: computed earlier in this pass, or the host's estimate.
        int source = _lckv.LayerTypes.Sources[layer];
        var (k, v) = _lckv.Condensation.AttendsTop(layer)
            ? (GraphNames.PendingKey(source), GraphNames.PendingValue(source))                              // [B, Hkv, S, D] each
            : _newKv[source];
        string o;
        if (_lckv.ReleasedDecode && _lckv.Condensation.AttendsTop(layer))
        {
            // whyNLP/LCKV's released code: a zero key and value ahead of the new tokens, under its own mask.
            var released = _masks.ReleasedTopContext(_lckv.Window(layer), _lckv.IterativePasses);
            string zeros = Placeholder(b, k);                                                                      // [B, Hkv, 1, D]
            k = b.Node("Concat", [zeros, k], "placeholder_key/Concat", Attr.Int("axis", 2));                      // [B, Hkv, 1 + S, D]
            v = b.Node("Concat", [zeros, v], "placeholder_value/Concat", Attr.Int("axis", 2));                    // [B, Hkv, 1 + S, D]
            o = Attention.Core(b, released, Config, ModelType, q, k, v,
                GraphNames.PastKey(source), GraphNames.PastValue(source), released.Mask);                          // [B, S, H·D]
        }
        else
        {
            var mask = _masks.For(_lckv.NoDiagonal(layer), _lckv.Window(layer));
            o = Attention.Core(b, ctx, Config, ModelType, q, k, v,
                GraphNames.PastKey(source), GraphNames.PastValue(source), mask);                                   // [B, S, H·D]
        }
        return Output(b, o, layer);                                                                          // [B, S, H]
    }

    /// <summary>
    /// The causal graph's attention for one new token per row at position p (the row's length before the pass): a stored
    /// layer writes its rotated k and v into its cache at slot p (TensorScatter, in place); then the layer's queries, viewed
    /// as G rows per KV head so that each KV head's cache is read once, attend over its source's first n slots through ONNX
    /// Attention's nonpad_kv_seqlen, with no mask: n = p + 1 where the layer sees its own position (a source at or below
    /// it, its entry written earlier in this pass), n = p without the diagonal (force_nodiag, or a source above it, whose
    /// slot p this pass has not written yet: its layer comes later in the graph). No bias, so ONNX Runtime can run a fused
    /// kernel; a sliding layer adds a bias for its window instead (<see cref="WindowBias"/>). A row without a diagonal at
    /// p = 0 admits nothing; the host sends no such row here (the first token of a
    /// prompt is a prefill on the general graph), and n is at least 1 so an idle row's output stays finite. Returns [B, 1, H·D].
    /// <code>
    ///   stored: k [B,1,Hkv·D] -> RotaryEmbedding -> [B,Hkv,1,D], v -> [B,Hkv,1,D] -> TensorScatter(past.{l}, write index) -> present.{l}
    ///   q [B,1,H·D] -> RotaryEmbedding -> [B,Hkv,G,D] -> Attention(source's present or past, nonpad_kv_seqlen = n) -> [B,1,H·D]
    /// </code>
    /// </summary>
    private string DecodeAttention(GraphBuilder b, CausalRowLengths lengths, AttentionContext ctx, string h, int layer)
    {
        int heads = Config.NumHeads, headDim = Config.HeadDim;
        string grouped;
        if (_lckv.Condensation.StoredLayers.Contains(layer))
        {
            var (qProj, kProj, vProj) = QueryKeyValue(b, h, layer);                                          // [B, 1, ·] each
            grouped = KvHeadRows(b, "q", Rotated(b, ctx, "q_rotary", qProj, heads, layer));                        // [B, Hkv, G, D]
            string k = KvHeadRows(b, "k", Rotated(b, ctx, "k_rotary", kProj, Config.NumKvHeads, layer));            // [B, Hkv, 1, D]
            _written[layer] = WriteAtRowLengths(b, lengths, k, KvHeadRows(b, "v", vProj), layer);                  // [B, Hkv, C, D] each
        }
        else
        {
            grouped = KvHeadRows(b, "q", Rotated(b, ctx, "q_rotary", QueryProjection(b, h, layer), heads, layer)); // [B, Hkv, G, D]
        }
        int source = _lckv.LayerTypes.Sources[layer];
        var (keys, values) = _lckv.Condensation.AttendsTop(layer)
            ? (GraphNames.PastKey(source), GraphNames.PastValue(source))                                           // [B, Hkv, C, D] each
            : _written[source];
        string seen = _lckv.NoDiagonal(layer) ? LengthsBefore(b, lengths) : lengths.Total;                         // [B]
        string o = _lckv.Window(layer) is { } window
            ? b.Node("Attention", [grouped, keys, values, WindowBias(b, lengths, seen, window)], "Attention")      // [B, Hkv, G, D]
            : b.Node("Attention", [grouped, keys, values, "", "", "", seen], "Attention");                         // [B, Hkv, G, D]
        return b.Node("Reshape", [o, b.ConstInt64([0, 1, heads * headDim])], "out/Reshape");                      // [B, 1, H·D]
    }

    // One token's heads [B, 1, h·D] as rows per KV head [B, Hkv, h/Hkv, D]: with one token per row these are the same bytes
    // as [B, h, 1, D] (head h = kvh·G + g), so a Reshape, which moves nothing, stands for the general graph's Transpose.
    private string KvHeadRows(GraphBuilder b, string name, string x) =>
        b.Node("Reshape", [x, b.ConstInt64([0, Config.NumKvHeads, -1, Config.HeadDim])], $"{name}_heads/Reshape");

    // A sliding layer's bias [B, 1, G, C]: slots p - window + 1 .. seen - 1 (keys fewer than window positions before the
    // query, slot = position). It carries the upper bound too: ONNX Runtime's CUDA Attention takes a mask or
    // nonpad_kv_seqlen, not both. One per (upper bound, window), shared by the layers that have them.
    private string WindowBias(GraphBuilder b, CausalRowLengths lengths, string seen, int window)
    {
        if (_windowBiases.TryGetValue((seen, window), out var done)) return done;
        using var _ = b.Scope($"window_bias_{window}_{_windowBiases.Count}");
        string from = b.Node("Sub", [lengths.WriteIndex, b.ConstInt64([window - 1])], "from/Sub");                 // [B] = p - w + 1
        return _windowBiases[(seen, window)] = Attention.SlotRangeBias(b, GraphNames.PastKey(KvLayers[0]), from, seen,
            Config.NumHeads / Config.NumKvHeads, ModelType);                                                                 // [B, 1, G, C]
    }

    // max(p, 1) [B]: the slots a layer without the diagonal reads (an idle row at p = 0 reads one, so stays finite)
    private string LengthsBefore(GraphBuilder b, CausalRowLengths lengths)
    {
        if (_lengthsBefore is not null) return _lengthsBefore;
        using var _ = b.Scope("lengths_before");
        return _lengthsBefore = b.Node("Max", [lengths.WriteIndex, b.ConstInt64([1])], "Max");                    // [B]
    }

    /// <summary>The released code's zero placeholder, [B, Hkv, 1, D] of the model dtype; made once per graph.</summary>
    private string Placeholder(GraphBuilder b, string likeKey)
    {
        if (_placeholder is not null) return _placeholder;
        using var _ = b.Scope("lckv_placeholder");
        string batchHeads = b.NodeN("Shape", "batch_heads/Shape", [likeKey], 1, [Attr.Int("start", 0), Attr.Int("end", 2)])[0]; // [2] = B, Hkv
        string shape = b.Node("Concat", [batchHeads, b.ConstInt64([1, Config.HeadDim])], "shape/Concat", Attr.Int("axis", 0));   // [4]
        return _placeholder = b.Node("Expand", [b.ConstScalar(0f, ModelType), shape], "zeros/Expand");                         // [B, Hkv, 1, D]
    }
}
