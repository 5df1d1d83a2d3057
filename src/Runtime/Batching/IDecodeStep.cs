namespace Condensa.Runtime.Batching;

/// <summary>
/// How a <see cref="ContinuousBatcher"/> advances its decoding rows by one pass: plain decoding (one token per row)
/// or speculative decoding (several per row). Rows that are empty or still prefilling must be left untouched.
/// </summary>
public interface IDecodeStep
{
    /// <summary>
    /// Runs one pass over the decoding rows of <paramref name="cache"/>. For each row with
    /// <see cref="BatchRow.IsDecoding"/>, fills <see cref="BatchRow.Emitted"/> with 1..<see cref="BatchRow.Room"/>
    /// committed tokens and leaves the row's cache holding <see cref="BatchRow.Tokens"/> (before this step) plus every
    /// emitted token but the last. The batcher appends the emitted tokens to the row afterwards.
    /// </summary>
    void Step(IDecoder model, KvCache cache, IReadOnlyList<BatchRow> rows);
}
