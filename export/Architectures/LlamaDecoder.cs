using Condensa.Export.Onnx;

namespace Condensa.Export;

/// <summary>
/// The decoder graph of LlamaForCausalLM, the base of the Llama family; subclasses override only their
/// differences (biases, manifest facts).
/// <code>
///   input_ids -> Gather(embed) -> [layer 0 .. L-1] -> RMSNorm -> GatherND(logits_index) -> MatMul(lm_head) -> logits
///   layer: x + Attention(RMSNorm(x)) -> h;  h + MLP(RMSNorm(h))
/// </code>
/// </summary>
internal class LlamaDecoder(HfConfig config, DecoderWeights weights)
{
    protected HfConfig Config { get; } = config;
    protected DecoderWeights Weights { get; } = weights;
    protected TensorProto.Types.DataType ModelType => Weights.ModelType;

    /// <summary>Whether q/k/v projections carry biases.</summary>
    protected virtual bool QkvBias => Config.AttentionBias;
    /// <summary>Whether o_proj carries a bias.</summary>
    protected virtual bool OutputBias => Config.AttentionBias;
    /// <summary>Whether gate/up/down projections carry biases.</summary>
    protected virtual bool MlpBias => Config.MlpBias;

    /// <summary>How many positions the export reproduces the checkpoint at: max_position_embeddings (longrope's switch to
    /// its long factors included, <see cref="RopeSettings.LongRowsOffset"/>). The manifest's max_context.</summary>
    public virtual int ExactContext => Config.MaxPositionEmbeddings;

    /// <summary>How many positions the causal graphs reproduce the checkpoint at, where fewer than <see cref="ExactContext"/>:
    /// a longrope export's original context, past which transformers rotates with the long factors, which GroupQueryAttention's
    /// and RotaryEmbedding's positions from seqlens_k cannot switch to. The manifest's causal_max_context; null: all of them.</summary>
    public int? CausalContext => HasCausalGraph ? Config.Rope.LongRowsOffset(ExactContext) : null;

    /// <summary>The sliding window the host must apply in its masks (never in the graph), or null.</summary>
    public virtual int? SlidingWindow => null;

    /// <summary>Entry i: the stored layer whose KV layer i attends to (its own here).</summary>
    public virtual IReadOnlyList<int> LayerKvSource => [.. Enumerable.Range(0, Config.NumLayers)];

    /// <summary>Layers that store KV (graph inputs past.{l} and outputs new.{l}), ascending, as the runtime derives them.</summary>
    public IReadOnlyList<int> KvLayers => LayerCondensation.Of(LayerKvSource).StoredLayers;

    /// <summary>Declares inputs beyond the contract's common ones (none for the Llama family).</summary>
    protected virtual void AddExtraInputs(GraphBuilder b) { }

    /// <summary>
    /// Whether the export also gets the causal graph (<see cref="Build"/> with <see cref="DecoderGraph.Causal"/>): an
    /// architecture whose attention is plain causal attention over each row's own KV, no sliding window, and heads
    /// ONNX Runtime's GroupQueryAttention rotates itself: a head size that is a multiple of 16 and rotary tables whose
    /// width (half the rotated dims) is a multiple of 8, which a partial rotary factor can break (a tiny Phi-3 with
    /// 24 of 32 dims rotated has tables 12 wide; Phi-4-mini's 96 of 128 give 48).
    /// </summary>
    public virtual bool HasCausalGraph => SlidingWindow is null && Config.HeadDim % 16 == 0 && Config.Rope.RotaryDim(Config.HeadDim) / 2 % 8 == 0;

    /// <summary>
    /// Whether the export also gets the multi-row causal graph (<see cref="Build"/> with <see cref="DecoderGraph.CausalRows"/>):
    /// one that has the causal graph and whose attention the ONNX Attention operator expresses whole, i.e. no per-layer
    /// window and no soft-capping.
    /// </summary>
    public virtual bool HasCausalRowsGraph => HasCausalGraph && LayerWindows is null && Config.AttnLogitSoftcapping is null;

    /// <summary>
    /// Whether the export also gets the slots graph (<see cref="Build"/> with <see cref="DecoderGraph.Slots"/>): beside the
    /// multi-row causal graph, whose conditions it shares (the runtime loads the two on the same rule).
    /// </summary>
    public bool HasSlotsGraph => HasCausalRowsGraph;

    /// <summary>
    /// Adds the whole decoder to <paramref name="b"/>: the general graph (every mask through attention_bias), or one of the
    /// two causal graphs, whose attention writes the new KV into the past buffers at each row's length and attends
    /// causally: <see cref="DecoderGraph.Causal"/> with one GroupQueryAttention node per layer, <see cref="DecoderGraph.CausalRows"/>
    /// with TensorScatter and Attention (docs/ARCHITECTURE.md, "The causal graphs"); or the slots graph, the general graph's
    /// contract with one Attention node per layer over the cache its pass has written (<see cref="DecoderGraph.Slots"/>).
    /// With <paramref name="swiGlu"/> the graphs other than the general one compute a SiLU MLP's activation as ONNX Runtime's
    /// SwiGLU (<see cref="SwiGlu"/>).
    /// </summary>
    public void Build(GraphBuilder b, DecoderGraph graph = DecoderGraph.General, bool swiGlu = false)
    {
        bool causal = graph is DecoderGraph.Causal or DecoderGraph.CausalRows;
        var i64 = TensorProto.Types.DataType.Int64;
        var i32 = TensorProto.Types.DataType.Int32;
        var f32 = TensorProto.Types.DataType.Float;
        const string B = GraphNames.DimBatch, S = GraphNames.DimSequence, C = GraphNames.DimCapacity;
        int kvHeads = Config.NumKvHeads, headDim = Config.HeadDim;
        if (causal && !HasCausalGraph || graph == DecoderGraph.CausalRows && !HasCausalRowsGraph || graph == DecoderGraph.Slots && !HasSlotsGraph)
            throw new InvalidOperationException($"{Config.Architecture} with these settings has no {graph} graph");

        // 1) inputs
        string inputIds = b.Input(GraphNames.InputIds, i64, B, S);                                          // [B, S]
        string positionIds = b.Input(GraphNames.PositionIds, i64, B, S);                                    // [B, S]
        string? spans = causal ? null : b.Input(GraphNames.AttentionSpan, i64, B, S, 2);                  // [B, S, 2]
        string? newBias = causal ? null : b.Input(GraphNames.AttentionNew, f32, B, 1, S, S);               // [B, 1, S, S]
        string logitsIndex = b.Input(GraphNames.LogitsIndex, i64, B, GraphNames.DimLogits);                 // [B, K]
        if (causal)
        {
            b.Input(GraphNames.SeqLensK, i32, B);                                                           // [B]
            b.Input(GraphNames.TotalSequenceLength, i32, 1);                                                // [1]
        }
        else
        {
            b.Input(GraphNames.KvWriteIndex, i64, B, kvHeads, S, 3);                                        // [B, Hkv, S, 3]
        }
        foreach (int l in KvLayers)
        {
            b.Input(GraphNames.PastKey(l), ModelType, B, kvHeads, C, headDim);                               // [B, Hkv, C, D]
            b.Input(GraphNames.PastValue(l), ModelType, B, kvHeads, C, headDim);                             // [B, Hkv, C, D]
        }
        if (!causal) AddExtraInputs(b);
        string? bias = causal ? null : Attention.BiasFromSpans(b, spans!, newBias!, GraphNames.PastKey(KvLayers[0]));  // [B, 1, S, C + S]
        b.Output(GraphNames.Logits, f32, B, GraphNames.DimLogits, Config.VocabSize);                        // [B, K, V]
        b.Output(GraphNames.GreedyTokens, i64, B, GraphNames.DimLogits);                                    // [B, K]

        using var model = b.Scope("model");

        // 2) embeddings
        string embed = Weights.Tensor(b, WeightMap.Embed, Config.VocabSize, Config.HiddenSize);             // [V, H]
        string x;
        using (b.Scope("embed_tokens")) x = ScaleEmbedding(b, b.Node("Gather", [embed, inputIds], attributes: Attr.Int("axis", 0))); // [B, S, H]

        // 3) what every layer shares
        _swiGlu = swiGlu && graph != DecoderGraph.General && SiluActivation;
        var ctx = graph switch
        {
            DecoderGraph.Causal => PrepareCausal(b, inputIds, positionIds),
            DecoderGraph.CausalRows => Attention.PrepareCausalRows(b, Config, ModelType, inputIds, positionIds, GraphNames.PastKey(KvLayers[0])),
            DecoderGraph.Slots => Attention.PrepareSlots(b, Config, positionIds, bias!, GraphNames.PastKey(KvLayers[0]), ModelType),
            _ => Attention.Prepare(b, Config, positionIds, bias!, GraphNames.PastKey(KvLayers[0]), ModelType),
        };

        // 4) layers
        var stream = new Residual(x);
        for (int l = 0; l < Config.NumLayers; l++)
            using (b.Scope($"layers.{l}"))
                stream = Layer(b, ctx, stream, l);

        // 5) final norm, the K requested positions, then lm_head
        x = AddRmsNorm(b, "norm", stream, WeightMap.FinalNorm).Normed;                                      // [B, S, H]
        using (b.Scope("logits"))
        {
            string idx = b.Node("Unsqueeze", [logitsIndex, b.ConstInt64([-1])]);                            // [B, K, 1]
            string picked = b.Node("GatherND", [x, idx], attributes: Attr.Int("batch_dims", 1));            // [B, K, H]
            var cap = Config.FinalLogitSoftcapping;
            if (ModelType == f32 && cap is null)
                LmHead(b, picked, embed, GraphNames.Logits);                                                 // [B, K, V]
            else if (cap is null)
                b.NamedNode("Cast", [LmHead(b, picked, embed)], "Cast", GraphNames.Logits,
                    Attr.Int("to", (long)f32));                                                              // [B, K, V]
            else
            {
                string raw = LmHead(b, picked, embed);                                                       // [B, K, V]
                if (ModelType != f32) raw = b.Node("Cast", [raw], "Cast", Attr.Int("to", (long)f32));
                string capped = Attention.SoftCap(b, "final_softcap", raw, cap.Value);
                b.NamedNode("Identity", [capped], "Identity", GraphNames.Logits);                            // [B, K, V]
            }
            b.NamedNode("ArgMax", [GraphNames.Logits], "ArgMax", GraphNames.GreedyTokens,
                Attr.Int("axis", -1), Attr.Int("keepdims", 0));                                              // [B, K]
        }
    }

    private bool _swiGlu;   // this Build's MLP activation is one SwiGLU node over the unsplit gate/up projection

    /// <summary>The causal graph's shared values: the rotary tables and position_ids here, GroupQueryAttention deriving the
    /// rest from seqlens_k.</summary>
    protected virtual AttentionContext PrepareCausal(GraphBuilder b, string inputIds, string positionIds) =>
        Attention.PrepareCausal(b, Config, ModelType, positionIds);

    /// <summary>
    /// The residual stream [B, S, H] between blocks: <paramref name="Sum"/>, plus <paramref name="Pending"/> when that is
    /// not null, a block's output whose residual add is left to the next norm (one SkipSimplifiedLayerNormalization
    /// instead of an Add and a norm).
    /// </summary>
    protected readonly record struct Residual(string Sum, string? Pending = null);

    /// <summary>One decoder layer on the stream x: x + Attention(RMSNorm(x)) -> h, then h + MLP(RMSNorm(h)), that last add pending.</summary>
    protected virtual Residual Layer(GraphBuilder b, AttentionContext ctx, Residual x, int layer)
    {
        var (h, sum) = AddRmsNorm(b, "input_layernorm", x, WeightMap.Layer(WeightMap.InputNorm, layer));     // [B, S, H] each
        string attn;
        using (b.Scope("attn")) attn = SelfAttention(b, ctx, h, layer);                                      // [B, S, H]
        (h, sum) = AddRmsNorm(b, "post_attention_layernorm", new Residual(sum, attn),
            WeightMap.Layer(WeightMap.PostAttentionNorm, layer));                                            // [B, S, H] each
        string mlp;
        using (b.Scope("mlp")) mlp = Mlp(b, h, layer);                                                       // [B, S, H]
        return new Residual(sum, mlp);
    }

    /// <summary>Projections, RoPE, the KV outputs and the attention core on h [B, S, H].</summary>
    protected virtual string SelfAttention(GraphBuilder b, AttentionContext ctx, string h, int layer)
    {
        if (ctx.Causal) return Output(b, ctx.KvLengths is null ? CausalAttention(b, ctx, h, layer) : CausalRowsAttention(b, ctx, h, layer), layer); // [B, S, H]
        var (q, k, v) = QueryKeyValue(b, h, layer);                                                          // [B, S, H·D], [B, S, Hkv·D] ×2
        (q, k) = QueryKeyNorm(b, q, k, layer);                                                               // as before
        q = Query(b, ctx, q, layer);                                                                         // [B, H, S, D]
        (k, v) = KeyValue(b, ctx, k, v, layer);                                                              // [B, Hkv, S, D] each
        if (ctx.SlotBias is { } slotBias)
            return Output(b, Heads(b, BiasedAttention(b, q, GraphNames.PresentKey(layer), GraphNames.PresentValue(layer), slotBias,
                ctx.ScoreBlocks)), layer);
        var mask = LayerWindow(layer) is { } window ? (_windowMasks ??= new LckvMasks(b, ctx)).For(noDiagonal: false, window) : null;
        string o = Attention.Core(b, ctx, Config, ModelType, q, k, v, GraphNames.PastKey(layer), GraphNames.PastValue(layer), mask); // [B, S, H·D]
        return Output(b, o, layer);                                                                          // [B, S, H]
    }

    /// <summary>
    /// The causal graph's attention on h [B, S, H]: the q/k/v projections, then one GroupQueryAttention that rotates q
    /// and k at position_ids, writes k and v into past.{layer} at each row's next slots (seqlens_k + 1 - S + j;
    /// present.{layer} is bound to the past buffer, so the write is in place) and attends causally over slots
    /// 0..seqlens_k. Slots are positions in a cache that keeps every position; a budgeted (sink + window) cache's are not.
    /// It takes the merged projection packed, [B, S, (H + 2·Hkv)·D], so q, k and v are never split.
    /// Returns [B, S, H·D].
    /// </summary>
    private string CausalAttention(GraphBuilder b, AttentionContext ctx, string h, int layer)
    {
        int hidden = Config.HiddenSize, qDim = Config.NumHeads * Config.HeadDim, kvDim = Config.NumKvHeads * Config.HeadDim;
        var packed = NormsQueryKey ? null : MergedLinear(b, "qkv_proj", h, [WeightMap.QProj, WeightMap.KProj, WeightMap.VProj], layer, hidden,
            [qDim, kvDim, kvDim], QkvBias, split: false);
        var (q, k, v) = packed is not null ? (packed[0], "", "") : QueryKeyValue(b, h, layer);             // "": omitted (packed q)
        if (packed is null) (q, k) = QueryKeyNorm(b, q, k, layer);                                          // before GroupQueryAttention's RoPE
        var outputs = b.NodeN("GroupQueryAttention", "GroupQueryAttention",
            [q, k, v, GraphNames.PastKey(layer), GraphNames.PastValue(layer), GraphNames.SeqLensK, GraphNames.TotalSequenceLength,
             .. RotaryTables(b, ctx, layer), ctx.PositionIds],
            3,
            GroupQueryAttentionAttributes(layer),
            [null, GraphNames.PresentKey(layer), GraphNames.PresentValue(layer)], ContribOps.Domain);
        const string B = GraphNames.DimBatch, C = GraphNames.DimCapacity;
        b.Output(GraphNames.PresentKey(layer), ModelType, B, Config.NumKvHeads, C, Config.HeadDim);          // [B, Hkv, C, D]
        b.Output(GraphNames.PresentValue(layer), ModelType, B, Config.NumKvHeads, C, Config.HeadDim);        // [B, Hkv, C, D]
        return outputs[0];                                                                                   // [B, S, H·D]
    }

    /// <summary>
    /// The multi-row causal graph's attention on h [B, S, H], for the passes GroupQueryAttention refuses (several tokens
    /// in each of several rows: speculative verification at batch > 1): q and k rotated at each row's positions, k and v
    /// written into past.{layer} at each row's length by TensorScatter (present.{layer} is bound to the past buffer, so
    /// the write is in place), then Attention over the buffer's first seqlens_k + 1 slots of each row (nonpad_kv_seqlen),
    /// so new token j sees the past and new tokens 0..j (<see cref="RowsAttention"/>). Returns [B, S, H·D].
    /// <code>
    ///   q, k, v -> RotaryEmbedding(q, k) -> heads [B,H,S,D], [B,Hkv,S,D] ×2
    ///   past.{l} -+-> TensorScatter(write index) -> present.{l} -+
    ///   q -> [B,Hkv,G·S,D] ----------------------------------------+-> Attention(grouped causal bias) -> [B,S,H·D]
    /// </code>
    /// </summary>
    private string CausalRowsAttention(GraphBuilder b, AttentionContext ctx, string h, int layer)
    {
        var (q, k, v) = QueryKeyValue(b, h, layer);                                                          // [B, S, H·D], [B, S, Hkv·D] ×2
        (q, k) = QueryKeyNorm(b, q, k, layer);
        q = Query(b, ctx, q, layer);                                                                         // [B, H, S, D]
        (k, v) = RotatedKeyValue(b, ctx, k, v, layer);                                                       // [B, Hkv, S, D] each
        var (presentKey, presentValue) = WriteAtRowLengths(b, ctx.KvLengths!, k, v, layer);                 // [B, Hkv, C, D] each
        return Heads(b, RowsAttention(b, ctx.KvLengths!, q, presentKey, presentValue));                      // [B, S, H·D]
    }

    // the attention output's heads [B, H, S, D] side by side: [B, S, H·D]
    private string Heads(GraphBuilder b, string o)
    {
        o = b.Node("Transpose", [o], "out/Transpose", Attr.Ints("perm", 0, 2, 1, 3));                         // [B, S, H, D]
        return b.Node("Reshape", [o, b.ConstInt64([0, 0, Config.NumHeads * Config.HeadDim])], "out/Reshape"); // [B, S, H·D]
    }

    /// <summary>
    /// Writes k and v [B, Hkv, S, D] into past.{layer} at each row's length (TensorScatter at the rows' write index) as the
    /// present.{layer} outputs, which the host binds to the past buffers, so the write is in place. Returns the present
    /// tensors, [B, Hkv, C, D] each: a node that reads them runs after the write.
    /// </summary>
    protected (string Key, string Value) WriteAtRowLengths(GraphBuilder b, CausalRowLengths lengths, string k, string v, int layer)
    {
        var axis = Attr.Int("axis", 2);
        string presentKey = b.NamedNode("TensorScatter", [GraphNames.PastKey(layer), k, lengths.WriteIndex],
            "present_key/TensorScatter", GraphNames.PresentKey(layer), axis);                               // [B, Hkv, C, D]
        string presentValue = b.NamedNode("TensorScatter", [GraphNames.PastValue(layer), v, lengths.WriteIndex],
            "present_value/TensorScatter", GraphNames.PresentValue(layer), axis);                           // [B, Hkv, C, D]
        const string B = GraphNames.DimBatch, C = GraphNames.DimCapacity;
        b.Output(GraphNames.PresentKey(layer), ModelType, B, Config.NumKvHeads, C, Config.HeadDim);          // [B, Hkv, C, D]
        b.Output(GraphNames.PresentValue(layer), ModelType, B, Config.NumKvHeads, C, Config.HeadDim);        // [B, Hkv, C, D]
        return (presentKey, presentValue);
    }

    /// <summary>Attention of q [B, H, S, D] over the rows' first Total slots: for a grouped-query model with the queries
    /// viewed as G·S rows per KV head under the grouped causal bias (Attention.GroupedCausalBias says why), else causal
    /// from the bottom right within nonpad_kv_seqlen. Returns [B, H, S, D].</summary>
    private string RowsAttention(GraphBuilder b, CausalRowLengths lengths, string q, string presentKey, string presentValue)
    {
        if (lengths.GroupedBias is not { } bias)
            return b.Node("Attention", [q, presentKey, presentValue, "", "", "", lengths.Total], "Attention",
                [Attr.Int("is_causal", 1), .. ScoreScale]);                                                  // [B, H, S, D]
        // No nonpad_kv_seqlen: the ONNX Runtime CUDA Attention source we read takes attn_mask or it, not both (1.32 gave
        // the same tokens either way), and the bias already blocks every slot past a token's position; the device cache is
        // zeroed when allocated, so the slots past a row's length hold finite values.
        return BiasedAttention(b, q, presentKey, presentValue, bias, blocks: null);                          // [B, H, S, D]
    }

    /// <summary>Attention of q [B, H, S, D] over the cache's C slots under <paramref name="bias"/> ([B, 1, G·S, C] in the
    /// model's type): a grouped-query model's queries viewed as G·S rows per KV head (query head h = kvh·G + g, a plain
    /// reshape), so the cache is read once per KV head; one Attention node, or given <paramref name="blocks"/> (the slots
    /// graph of a float32 export with a KV head per query head) MatMuls whose one-row scores read the keys in blocks of
    /// slots (<see cref="BlockScoresAttention"/>). Returns [B, H, S, D].</summary>
    private string BiasedAttention(GraphBuilder b, string q, string key, string value, string bias, ScoreBlocks? blocks)
    {
        int heads = Config.NumHeads, kvHeads = Config.NumKvHeads, headDim = Config.HeadDim;
        if (blocks is not null) return BlockScoresAttention.Build(b, q, key, value, blocks);
        if (heads == kvHeads) return b.Node("Attention", [q, key, value, bias], "Attention", ScoreScale);       // [B, H, S, D]
        // the default scale is 1/sqrt(D) of the head size, which the view keeps
        string grouped = b.Node("Reshape", [q, b.ConstInt64([0, kvHeads, -1, headDim])], "q_group/Reshape");  // [B, Hkv, G·S, D]
        string o = b.Node("Attention", [grouped, key, value, bias], "Attention", ScoreScale);                  // [B, Hkv, G·S, D]
        return b.Node("Reshape", [o, b.ConstInt64([0, heads, -1, headDim])], "out_group/Reshape");            // [B, H, S, D]
    }

    // Attention's scale attribute where the config sets the score scale (Gemma's query_pre_attn_scalar), else none: 1/sqrt(D)
    private AttributeProto[] ScoreScale => Config.QueryPreAttnScalar is not null ? [Attr.Float("scale", (float)Config.AttentionScale)] : [];

    // num_heads, kv_num_heads, the rotation, and Gemma's score scale and soft-cap where the config sets them
    private AttributeProto[] GroupQueryAttentionAttributes(int layer)
    {
        var attributes = new List<AttributeProto>
        {
            Attr.Int("num_heads", Config.NumHeads), Attr.Int("kv_num_heads", Config.NumKvHeads), Attr.Int("do_rotary", 1), Attr.Int("rotary_interleaved", 0),
        };
        if (Config.QueryPreAttnScalar is not null) attributes.Add(Attr.Float("scale", (float)Config.AttentionScale));
        if (Config.AttnLogitSoftcapping is { } cap) attributes.Add(Attr.Float("softcap", (float)cap));
        // a sliding layer: local_window_size keys, the query's own included (transformers: keys less than window back)
        if (LayerWindow(layer) is { } window) attributes.Add(Attr.Int("local_window_size", window));
        return [.. attributes];
    }

    private LckvMasks? _windowMasks;   // the general graph's per-layer window masks, built once per graph

    /// <summary>The sliding window layer <paramref name="layer"/> applies inside the graph (transformers' layer_types), or
    /// null for full attention (or a window the host applies to every layer: <see cref="SlidingWindow"/>).</summary>
    protected virtual int? LayerWindow(int layer) => null;

    /// <summary>Every layer's in-graph window (the manifest's layer_sliding_window), or null when no layer has one.</summary>
    public IReadOnlyList<int?>? LayerWindows =>
        Enumerable.Range(0, Config.NumLayers).Select(LayerWindow).ToArray() is var w && w.Any(x => x is not null) ? w : null;

    /// <summary>The cos and sin tables layer <paramref name="layer"/> rotates with: the graph's one pair here.</summary>
    protected virtual string[] RotaryTables(GraphBuilder b, AttentionContext ctx, int layer) => [ctx.Cos, ctx.Sin];

    /// <summary>What an architecture does to the embeddings [B, S, H] before the first layer: nothing here.</summary>
    protected virtual string ScaleEmbedding(GraphBuilder b, string x) => x;

    /// <summary>An RMSNorm weight [H] as the graph multiplies by it: as stored here.</summary>
    protected virtual string NormWeight(GraphBuilder b, string name) => Weights.Tensor(b, name, Config.HiddenSize);

    /// <summary>The MLP's activation of the gate projection [B, S, I]: SiLU here.</summary>
    protected virtual string Activation(GraphBuilder b, string gate)
    {
        string sig = b.Node("Sigmoid", [gate], "act_fn/Sigmoid");                                            // [B, S, I]
        return b.Node("Mul", [gate, sig], "act_fn/Mul");                                                     // [B, S, I]
    }

    /// <summary>q, k and v projections of h (before RoPE): one merged GEMM split three ways where the weights can share
    /// one (always in float; quantized only when q, k and v have the same bits).</summary>
    protected (string Q, string K, string V) QueryKeyValue(GraphBuilder b, string h, int layer)
    {
        int hidden = Config.HiddenSize, qDim = Config.NumHeads * Config.HeadDim, kvDim = Config.NumKvHeads * Config.HeadDim;
        var parts = MergedLinear(b, "qkv_proj", h, [WeightMap.QProj, WeightMap.KProj, WeightMap.VProj], layer, hidden, [qDim, kvDim, kvDim], QkvBias);
        if (parts is not null) return (parts[0], parts[1], parts[2]);
        return (Linear(b, "q_proj", h, WeightMap.QProj, layer, hidden, qDim, QkvBias),                       // [B, S, H·D]
                Linear(b, "k_proj", h, WeightMap.KProj, layer, hidden, kvDim, QkvBias),                      // [B, S, Hkv·D]
                Linear(b, "v_proj", h, WeightMap.VProj, layer, hidden, kvDim, QkvBias));                     // [B, S, Hkv·D]
    }

    /// <summary>The rotated dims of a head when RoPE covers only part of it (partial_rotary_factor), else 0.</summary>
    protected int PartialRotaryDim => Config.Rope.RotaryDim(Config.HeadDim) is var r && r < Config.HeadDim ? r : 0;

    /// <summary>Whether q and k are normalised per head before RoPE (<see cref="QueryKeyNorm"/>), so the causal graph
    /// hands GroupQueryAttention q, k and v apart instead of packed.</summary>
    protected virtual bool NormsQueryKey => false;

    /// <summary>What an architecture does to the projected q [B, S, H·D] and k [B, S, Hkv·D] before RoPE: nothing here.</summary>
    protected virtual (string Q, string K) QueryKeyNorm(GraphBuilder b, string q, string k, int layer) => (q, k);

    /// <summary>RMSNorm over each head of x [B, S, heads·D] with one [D] weight (float32 inside, as transformers computes it):
    /// [B, S, heads·D].</summary>
    protected string HeadNorm(GraphBuilder b, string scope, string x, int heads, string weight)
    {
        using var _ = b.Scope(scope);
        int headDim = Config.HeadDim;
        string perHead = b.Node("Reshape", [x, b.ConstInt64([0, 0, heads, headDim])], "heads/Reshape");     // [B, S, heads, D]
        string normed = b.Node("SimplifiedLayerNormalization", [perHead, weight], attributes:
            [Attr.Int("axis", -1), Attr.Float("epsilon", (float)Config.RmsNormEps), Attr.Int("stash_type", 1)]);   // [B, S, heads, D]
        return b.Node("Reshape", [normed, b.ConstInt64([0, 0, heads * headDim])], "flat/Reshape");          // [B, S, heads·D]
    }

    /// <summary>q_proj alone (layers of a layer-condensed model that store no KV): [B, S, H·D].</summary>
    protected string QueryProjection(GraphBuilder b, string h, int layer) =>
        Linear(b, "q_proj", h, WeightMap.QProj, layer, Config.HiddenSize, Config.NumHeads * Config.HeadDim, QkvBias);

    /// <summary>RoPE on q [B, S, H·D] and its heads: [B, H, S, D].</summary>
    protected string Query(GraphBuilder b, AttentionContext ctx, string q, int layer)
    {
        q = Rotated(b, ctx, "q_rotary", q, Config.NumHeads, layer);                                          // [B, S, H·D]
        return SplitHeads(b, "q", q, Config.NumHeads, Config.HeadDim);                                      // [B, H, S, D]
    }

    /// <summary>
    /// RoPE on k and the heads of k and v [B, S, Hkv·D], declared as this layer's new.{layer} outputs: [B, Hkv, S, D] each;
    /// and written into the past at kv_write_index as the present.{layer} outputs, which the host binds to the past buffers.
    /// The write may run before this pass's attention reads the past: it only touches slots the pass's mask blocks (the
    /// rows' next slots and the scratch slot).
    /// <code>
    ///   past.{l} [B,Hkv,C,D] -+
    ///   kv_write_index -------+-> ScatterND -> present.{l} (= past.{l}'s buffer)
    ///   new.{l} [B,Hkv,S,D] --+
    /// </code>
    /// </summary>
    protected (string Key, string Value) KeyValue(GraphBuilder b, AttentionContext ctx, string k, string v, int layer)
    {
        int kvHeads = Config.NumKvHeads, headDim = Config.HeadDim;
        // the heads' layout is the new.{layer} outputs' own, so the Transposes write them directly
        (k, v) = RotatedKeyValue(b, ctx, k, v, layer, GraphNames.NewKey(layer), GraphNames.NewValue(layer));  // [B, Hkv, S, D] each

        var kvType = Weights.ModelType;
        const string B = GraphNames.DimBatch, S = GraphNames.DimSequence, C = GraphNames.DimCapacity;
        b.Output(GraphNames.NewKey(layer), kvType, B, kvHeads, S, headDim);
        b.Output(GraphNames.NewValue(layer), kvType, B, kvHeads, S, headDim);
        b.NamedNode("ScatterND", [GraphNames.PastKey(layer), GraphNames.KvWriteIndex, k], "present_key/ScatterND", GraphNames.PresentKey(layer));
        b.NamedNode("ScatterND", [GraphNames.PastValue(layer), GraphNames.KvWriteIndex, v], "present_value/ScatterND", GraphNames.PresentValue(layer));
        b.Output(GraphNames.PresentKey(layer), kvType, B, kvHeads, C, headDim);                              // [B, Hkv, C, D]
        b.Output(GraphNames.PresentValue(layer), kvType, B, kvHeads, C, headDim);                            // [B, Hkv, C, D]
        return (k, v);
    }

    /// <summary>RoPE on k [B, S, Hkv·D] at ctx's positions, then the heads of k and v: [B, Hkv, S, D] each, named
    /// <paramref name="keyName"/> and <paramref name="valueName"/> when given.</summary>
    private (string Key, string Value) RotatedKeyValue(GraphBuilder b, AttentionContext ctx, string k, string v, int layer,
        string? keyName = null, string? valueName = null)
    {
        k = Rotated(b, ctx, "k_rotary", k, Config.NumKvHeads, layer);                                        // [B, S, Hkv·D]
        return (SplitHeads(b, "k", k, Config.NumKvHeads, Config.HeadDim, keyName),                          // [B, Hkv, S, D]
                SplitHeads(b, "v", v, Config.NumKvHeads, Config.HeadDim, valueName));                       // [B, Hkv, S, D]
    }

    /// <summary>RoPE on x [B, S, heads·D] at ctx's positions with the layer's tables: [B, S, heads·D].</summary>
    protected string Rotated(GraphBuilder b, AttentionContext ctx, string scope, string x, int heads, int layer)
    {
        var table = RotaryTables(b, ctx, layer);
        using (b.Scope(scope)) return Rope.Apply(b, x, ctx.RotaryPositionIds, table[0], table[1], heads, PartialRotaryDim);
    }

    /// <summary>o_proj on the attention output [B, S, H·D]: [B, S, H].</summary>
    protected string Output(GraphBuilder b, string o, int layer) =>
        Linear(b, "o_proj", o, WeightMap.OProj, layer, Config.NumHeads * Config.HeadDim, Config.HiddenSize, OutputBias); // [B, S, H]

    /// <summary>Whether the MLP's activation is SiLU, which ONNX Runtime's SwiGLU computes (false where an architecture
    /// overrides <see cref="Activation"/>).</summary>
    protected virtual bool SiluActivation => true;

    /// <summary>
    /// silu(gate) · up from the unsplit gate/up projection [B, S, 2I], gate first: ONNX Runtime's contrib SwiGLU, one kernel.
    /// The portable form (Split, then SiLU and the product) leaves ONNX Runtime a Split kernel per layer it cannot fuse away
    /// (22 of the ~270 kernels of a 1.1B decode step); only the CUDA provider has SwiGLU's kernel (ONNX Runtime 1.32).
    /// </summary>
    private static string SwiGlu(GraphBuilder b, string gateUp) =>
        b.NodeN("SwiGLU", "act_fn/SwiGLU", [gateUp], 1, domain: ContribOps.Domain)[0];                     // [B, S, I]

    /// <summary>SiLU-gated MLP: down(silu(gate(h)) · up(h)).</summary>
    protected virtual string Mlp(GraphBuilder b, string h, int layer)
    {
        int hidden = Config.HiddenSize, inter = Config.IntermediateSize;
        if (_swiGlu && MergedLinear(b, "gate_up_proj", h, [WeightMap.GateProj, WeightMap.UpProj], layer, hidden, [inter, inter], MlpBias,
                split: false) is [var gateUp])                                                               // [B, S, 2I]
            return Linear(b, "down_proj", SwiGlu(b, gateUp), WeightMap.DownProj, layer, inter, hidden, MlpBias); // [B, S, H]
        var parts = MergedLinear(b, "gate_up_proj", h, [WeightMap.GateProj, WeightMap.UpProj], layer, hidden, [inter, inter], MlpBias);
        string gate = parts?[0] ?? Linear(b, "gate_proj", h, WeightMap.GateProj, layer, hidden, inter, MlpBias); // [B, S, I]
        string up = parts?[1] ?? Linear(b, "up_proj", h, WeightMap.UpProj, layer, hidden, inter, MlpBias);   // [B, S, I]
        string act = Activation(b, gate);                                                                    // [B, S, I]
        string prod = b.Node("Mul", [act, up]);                                                              // [B, S, I]
        return Linear(b, "down_proj", prod, WeightMap.DownProj, layer, inter, hidden, MlpBias);              // [B, S, H]
    }

    /// <summary>
    /// RMSNorm of the stream x, in float32 as transformers computes it, by ONNX Runtime's fused kernels: a pending addend
    /// is added first by the same node (SkipSimplifiedLayerNormalization, which also returns the sum for the next
    /// residual), else SimplifiedLayerNormalization. Returns the normed values and the stream's sum, [B, S, H] each.
    /// </summary>
    protected (string Normed, string Sum) AddRmsNorm(GraphBuilder b, string scope, Residual x, string weightName)
    {
        using var _ = b.Scope(scope);
        string weight = NormWeight(b, weightName);                                                           // [H]
        var epsilon = Attr.Float("epsilon", (float)Config.RmsNormEps);
        if (x.Pending is null)
            return (b.Node("SimplifiedLayerNormalization", [x.Sum, weight], attributes: [Attr.Int("axis", -1), epsilon]), x.Sum);
        // outputs: normed, mean and inverse std (not wanted), the sum
        var outputs = b.NodeN("SkipSimplifiedLayerNormalization", "SkipSimplifiedLayerNormalization", [x.Sum, x.Pending, weight], 4,
            [epsilon], [null, "", "", null], ContribOps.Domain);
        return (outputs[0], outputs[3]);
    }

    /// <summary>x [.., in] @ W [in, out] (+ bias [out]).</summary>
    protected string Linear(GraphBuilder b, string scope, string x, string projection, int layer, int inDim, int outDim, bool bias)
    {
        using var _ = b.Scope(scope);
        string name = WeightMap.Weight(projection, layer);
        string y = Weights.Quantization is not null
            ? MatMulNBits.Add(b, x, Weights.QuantizedMatrix(b, name, projection, inDim, outDim))             // [.., out]
            : b.Node("MatMul", [x, Weights.TransposedMatrix(b, name, inDim, outDim)]);                       // [.., out]
        if (!bias) return y;
        string bv = Weights.Tensor(b, WeightMap.Bias(projection, layer), outDim);                            // [out]
        return b.Node("Add", [y, bv]);                                                                       // [.., out]
    }

    /// <summary>
    /// Several projections of x [.., in] as one GEMM, x @ [W_0 | W_1 | ..] (+ the biases), split back into [.., out_i]
    /// each (or unsplit, one [.., Σ out], without <paramref name="split"/>); null when they cannot share one weight (quantized
    /// at different bits), so the caller projects them one by one.
    /// </summary>
    protected string[]? MergedLinear(GraphBuilder b, string scope, string x, string[] projections, int layer, int inDim, int[] outDims, bool bias,
        bool split = true)
    {
        var quantization = Weights.Quantization;
        if (quantization is not null && projections.Select(quantization.For).Distinct().Count() > 1) return null;
        using var _ = b.Scope(scope);
        string first = WeightMap.Layer(projections[0], layer);
        string name = first[..(first.LastIndexOf('.') + 1)] + scope;                                        // e.g. model.layers.0.self_attn.qkv_proj
        string[] weights = [.. projections.Select(p => WeightMap.Weight(p, layer))];
        string y = quantization is not null
            ? MatMulNBits.Add(b, x, Weights.MergedQuantizedMatrix(b, name, weights, inDim, outDims, quantization.For(projections[0])))
            : b.Node("MatMul", [x, Weights.MergedTransposedMatrix(b, name + ".weight", weights, inDim, outDims)]);   // [.., Σ out]
        if (bias)
            y = b.Node("Add", [y, Weights.MergedTensor(b, name + ".bias", [.. projections.Select(p => WeightMap.Bias(p, layer))], outDims)]);
        if (!split) return [y];                                                                              // [.., Σ out]
        return b.NodeN("Split", "Split", [y, b.ConstInt64([.. outDims.Select(d => (long)d)])], outDims.Length, [Attr.Int("axis", -1)]);
    }

    /// <summary>
    /// lm_head on x [B, K, H]: logits [B, K, V] in the model dtype, named <paramref name="outputName"/> when given. Tied (or with no lm_head tensor at all, as tied
    /// checkpoints are saved) the weight is the [V, H] embedding table transposed in the graph: one copy on disk, and
    /// ONNX Runtime folds the Transpose of a constant once, at session creation. A quantized export quantizes lm_head
    /// too unless told not to; tied, that adds a quantized copy of the table, since the Gather needs floats.
    /// </summary>
    private string LmHead(GraphBuilder b, string x, string embed, string? outputName = null)
    {
        int hidden = Config.HiddenSize, vocab = Config.VocabSize;
        bool tied = Config.TieWordEmbeddings || !Weights.Contains(WeightMap.LmHead);
        if (Weights.Quantization is { LmHead: true })
        {
            var w = tied ? Weights.QuantizedMatrix(b, WeightMap.Embed, WeightMap.LmHead, hidden, vocab, initializerName: "tied_lm_head")
                         : Weights.QuantizedMatrix(b, WeightMap.LmHead, WeightMap.LmHead, hidden, vocab);
            return MatMulNBits.Add(b, x, w, outputName);                                                     // [B, K, V]
        }
        string head = tied
            ? b.Node("Transpose", [embed], "tied_lm_head/Transpose", Attr.Ints("perm", 1, 0))               // [H, V]
            : Weights.TransposedMatrix(b, WeightMap.LmHead, hidden, vocab);                                  // [H, V]
        return outputName is null ? b.Node("MatMul", [x, head])                                              // [B, K, V]
                                  : b.NamedNode("MatMul", [x, head], "MatMul", outputName);
    }

    private static string SplitHeads(GraphBuilder b, string name, string x, int heads, int headDim, string? outputName = null)
    {
        string r = b.Node("Reshape", [x, b.ConstInt64([0, 0, heads, headDim])], $"{name}_heads/Reshape");    // [B, S, h, D]
        return b.NodeN("Transpose", $"{name}_heads/Transpose", [r], 1, [Attr.Ints("perm", 0, 2, 1, 3)],
            outputName is null ? null : [outputName])[0];                                                   // [B, h, S, D]
    }
}
