using System.Runtime.InteropServices;
using Condensa.Runtime.Sampling;

namespace Condensa.Runtime.Generation;

/// <summary>
/// Prefill of a batch of prompts: chunks of every prompt side by side (rows padded to the longest chunk), so a long
/// prompt needs a [chunk, context] mask rather than [prompt, prompt]; each row's first token is sampled from the
/// logits after its last prompt token. Plain and speculative generation share it.
/// </summary>
public static class ChunkedPrefill
{
    /// <summary>Feeds <paramref name="prompts"/> (row b into cache row b) and returns each row's first token.</summary>
    /// <param name="model">The model.</param>
    /// <param name="cache">An empty cache of prompts.Count rows.</param>
    /// <param name="prompts">Each row's prompt; also the history the samplers' repetition penalty reads.</param>
    /// <param name="samplers">One sampler per row.</param>
    /// <param name="chunk">Prompt tokens per pass across the rows: each row feeds chunk / batch (at least 1), so a batched
    /// pass holds no more tokens, and no larger score tensors, than a batch-1 chunk (batch 8 × 512 tokens in one pass
    /// took the speculative bench on demo-code to 1 GB and, with a draft model beside it, 2.6 GB).</param>
    /// <param name="afterPass">Called after each pass with the tokens each row fed (a drafter copies the new KV).</param>
    public static int[] Run(IDecoder model, KvCache cache, IReadOnlyList<List<int>> prompts, IReadOnlyList<TokenSampler> samplers, int chunk,
        Action<KvCache, int[]>? afterPass = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(chunk, 1);
        var batch = prompts.Count;
        var vocab = model.Manifest.VocabSize;
        var longest = prompts.Max(p => p.Count);
        var rowChunk = Math.Max(1, chunk / batch);
        var counts = new int[batch];
        var first = new int[batch];
        for (var start = 0; start < longest; start += rowChunk)
        {
            // 1) this chunk of every row, padded to the longest
            var seqLen = Math.Min(rowChunk, longest - start);
            var tokens = new int[batch * seqLen];
            for (var b = 0; b < batch; b++)
            {
                counts[b] = Math.Clamp(prompts[b].Count - start, 0, seqLen);
                for (var j = 0; j < counts[b]; j++) tokens[b * seqLen + j] = prompts[b][start + j];
            }
            // 2) one pass; a row whose prompt ends in this chunk samples its first token
            var logits = model.Forward(cache, new ForwardInputs(tokens, counts, LogitsSelection.LastPerRow));
            for (var b = 0; b < batch; b++)
                if (counts[b] > 0 && start + counts[b] == prompts[b].Count)
                    first[b] = samplers[b].Sample(logits.Slice(b * vocab, vocab), CollectionsMarshal.AsSpan(prompts[b]));
            afterPass?.Invoke(cache, counts);
        }
        return first;
    }
}
