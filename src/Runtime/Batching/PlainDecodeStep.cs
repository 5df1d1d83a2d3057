using System.Runtime.InteropServices;

namespace Condensa.Runtime.Batching;

/// <summary>One token per decoding row per pass: the row's last token goes in, the next one is sampled.</summary>
public sealed class PlainDecodeStep : IDecodeStep
{
    private int[] _tokens = [];
    private int[] _counts = [];

    /// <inheritdoc />
    public void Step(IDecoder model, KvCache cache, IReadOnlyList<BatchRow> rows)
    {
        var batch = cache.BatchSize;
        if (_counts.Length != batch) (_tokens, _counts) = (new int[batch], new int[batch]);
        var argmax = true;
        for (var b = 0; b < batch; b++)
        {
            var row = rows[b];
            _counts[b] = row.IsDecoding ? 1 : 0;
            _tokens[b] = row.IsDecoding ? row.Tokens[^1] : 0;
            argmax &= !row.IsDecoding || row.Sampler.IsArgmax;
        }
        if (argmax)
        {
            // every decoding row picks the argmax: the model's greedy tokens, without the logits on the host
            var greedy = model.ForwardGreedy(cache, new ForwardInputs(_tokens, _counts, LogitsSelection.LastPerRow));   // [batch]
            for (var b = 0; b < batch; b++)
            {
                if (_counts[b] == 0) continue;
                rows[b].Emitted.Clear();
                rows[b].Emitted.Add(greedy[b]);
            }
            return;
        }
        var logits = model.Forward(cache, new ForwardInputs(_tokens, _counts, LogitsSelection.LastPerRow));   // [batch, vocab]
        var vocab = model.Manifest.VocabSize;
        for (var b = 0; b < batch; b++)
        {
            if (_counts[b] == 0) continue;
            var row = rows[b];
            row.Emitted.Clear();
            row.Emitted.Add(row.Sampler.Sample(logits.Slice(b * vocab, vocab), CollectionsMarshal.AsSpan(row.Tokens)));
        }
    }
}
