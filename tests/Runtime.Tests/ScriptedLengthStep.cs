using Condensa.Runtime.Batching;

namespace Condensa.Runtime.Tests;

/// <summary>
/// A plain decode step that ends each document after the number of tokens a script gives for its id (by emitting
/// <see cref="StopToken"/> in place of the sampled token, which leaves the cache exactly as the plain step does), and
/// records how many rows every pass decoded. Lets a batcher test choose which rows free up when.
/// </summary>
internal sealed class ScriptedLengthStep(Func<long, int> length) : IDecodeStep
{
    private readonly PlainDecodeStep _inner = new();

    /// <summary>The token that ends a scripted document; put it in the generation's stop tokens.</summary>
    public const int StopToken = 2;

    /// <summary>Decoding rows of each pass, in order.</summary>
    public List<int> DecodingRowsPerPass { get; } = [];

    public void Step(IDecoder model, KvCache cache, IReadOnlyList<BatchRow> rows)
    {
        DecodingRowsPerPass.Add(rows.Count(r => r.IsDecoding));
        _inner.Step(model, cache, rows);
        foreach (var row in rows)
        {
            if (!row.IsDecoding) continue;
            var generated = row.Tokens.Count - row.Request!.Prompt.Count + 1;   // with the token this pass emitted
            if (generated >= length(row.Request.Id)) row.Emitted[0] = StopToken;
        }
    }
}
