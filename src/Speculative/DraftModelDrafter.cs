using Condensa.Runtime;
using Condensa.Runtime.Sampling;

namespace Condensa.Speculative;

/// <summary>A separate, smaller model drafts for the target. Its vocabulary must be the target's.</summary>
public sealed class DraftModelDrafter : ModelDrafter
{
    /// <summary>Creates a draft-model drafter for a batch; throws when the vocabularies differ.</summary>
    public DraftModelDrafter(IDecoder draft, ModelManifest target, int batchSize, SamplingOptions sampling)
        : base(draft, CreateCache(draft, target, batchSize), sampling) { }

    /// <inheritdoc />
    public override string Name => "draft";

    /// <inheritdoc />
    public override void Commit(KvCache target, ReadOnlySpan<int> lengthsBefore, ReadOnlySpan<int> accepted, ReadOnlySpan<bool> active)
    {
        // The draft holds the last committed token and d_1..d_{γ-1}; keep what was accepted (the rest is overwritten).
        for (var b = 0; b < Cache.BatchSize; b++)
            if (active[b]) Cache.RewindTo(b, Math.Min(lengthsBefore[b] + accepted[b] + 1, Cache.Lengths[b]));
    }

    private static KvCache CreateCache(IDecoder draft, ModelManifest target, int batchSize)
    {
        ArgumentNullException.ThrowIfNull(draft);
        var d = draft.Manifest;
        if (d.VocabSize != target.VocabSize)
            throw new CondensaException($"Incompatible draft: vocabulary mismatch (draft has {d.VocabSize} tokens, target {target.VocabSize}); " +
                "a draft must share the target's tokenizer.");
        return draft.CreateCache(batchSize);
    }
}
