namespace Condensa.Runtime.Batching;

/// <summary>
/// Prefills one row of a batch cache through a private batch-1 cache, one chunk per call, and copies each chunk's
/// new KV into that row. Why not feed the chunk through the batch cache: a pass costs [batch, seqLen] tokens of
/// compute whatever the per-row counts, so one row's 512-token chunk beside seven decoding rows would cost eight
/// chunks (prefill is compute-bound). On the side cache it costs one, and the KV copy is a memcpy (or one
/// kv_write run on the device). The side cache runs exactly the passes one-at-a-time generation runs, so the first
/// token and the KV are the same.
/// </summary>
internal sealed class RowPrefiller(IDecoder model) : IDisposable
{
    private readonly int[] _sideCount = new int[1];
    private int _row = -1;

    /// <summary>[1, kvHeads, C, headDim] the document being prefilled; its last pass is the last chunk.</summary>
    public KvCache Side { get; } = model.CreateCache(1);

    /// <summary>Starts a document in <paramref name="row"/>, which must be empty in <paramref name="target"/>.</summary>
    public void Begin(KvCache target, int row)
    {
        if (target.Lengths[row] != 0) throw new InvalidOperationException($"row {row} still holds {target.Lengths[row]} tokens");
        Side.Clear();
        _row = row;
    }

    /// <summary>
    /// Feeds the next chunk of the row's prompt: runs it on the side cache and appends its KV to the row. Returns the
    /// logits of the chunk's last token ([vocab]), valid until the next call.
    /// </summary>
    public ReadOnlySpan<float> Feed(KvCache target, ReadOnlySpan<int> chunk)
    {
        if (_row < 0) throw new InvalidOperationException("Begin a row before feeding it");
        if (Side.Lengths[0] != target.Lengths[_row])
            throw new InvalidOperationException($"row {_row} holds {target.Lengths[_row]} tokens but the side cache {Side.Lengths[0]}");

        // 1) the chunk on the side cache, as one-at-a-time generation runs it
        _sideCount[0] = chunk.Length;
        var logits = model.Forward(Side, new ForwardInputs(chunk, _sideCount, LogitsSelection.LastPerRow));   // [1, vocab]

        // 2) its new KV ([1, kvHeads, n, headDim] per stored layer) into the row, at the row's length
        Side.CopyLastPassRowInto(target, sourceRow: 0, _row, chunk.Length);
        return logits;
    }

    public void Dispose() => Side.Dispose();
}
