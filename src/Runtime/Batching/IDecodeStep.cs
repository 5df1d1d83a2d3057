namespace Condensa.Runtime.Batching;

/// <summary>
/// How the decode loop (<see cref="Generation.DecodeLoop"/>) advances its decoding rows by one pass: plain decoding
/// (one token per row) or speculative decoding (several per row). Rows that are empty or still prefilling must be left
/// untouched. A step that keeps state per row (a drafter's cache) hears when a row takes a new document and sees each of
/// its prefill passes.
/// </summary>
public interface IDecodeStep
{
    /// <summary>
    /// Runs one pass over the decoding rows of <paramref name="cache"/>. For each row with
    /// <see cref="BatchRow.IsDecoding"/>, fills <see cref="BatchRow.Emitted"/> with 1..<see cref="BatchRow.Room"/>
    /// committed tokens and leaves the row's cache holding <see cref="BatchRow.Tokens"/> (before this step) plus every
    /// emitted token but the last. The loop appends the emitted tokens to the row afterwards.
    /// </summary>
    void Step(IDecoder model, KvCache cache, IReadOnlyList<BatchRow> rows);

    /// <summary>A new document took <paramref name="row"/> of <paramref name="cache"/>; the row holds the document's
    /// cached tokens (none, unless a conversation continues in a kept cache: <see cref="BatchRequest.Cached"/>).</summary>
    void RowStarted(KvCache cache, int row) { }

    /// <summary>A prefill pass appended the prompt tokens <paramref name="chunk"/> to <paramref name="row"/>: they are the
    /// last chunk.Length entries of <paramref name="source"/>'s row <paramref name="sourceRow"/> (the batch cache itself,
    /// or the side cache a document is prefilled on).</summary>
    void PrefillPassed(KvCache source, int sourceRow, int row, ReadOnlySpan<int> chunk) { }

    /// <summary>The loop moved decoding documents into empty rows (<see cref="KvCache.MoveRows"/> has moved their entries):
    /// state kept per row moves with them.</summary>
    void RowsMoved(KvCache cache, ReadOnlySpan<RowMove> moves) { }
}
