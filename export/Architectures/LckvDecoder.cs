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

    /// <summary>None: lower layers attend to a higher layer's KV under masks of their own.</summary>
    public override bool HasCausalGraph => false;

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
