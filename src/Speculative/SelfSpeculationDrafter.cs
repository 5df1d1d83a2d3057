using Condensa.Runtime;
using Condensa.Runtime.Sampling;

namespace Condensa.Speculative;

/// <summary>
/// MagicDec self-speculation: the target drafts for itself while reading only a bounded sink + window KV cache, so a
/// draft step costs the same at any context length while verification grows with it. After each verification the
/// target's own KV for the accepted tokens is written into the budget (no second prefill), and the ring evicts the
/// oldest window entries as the sequence grows.
/// </summary>
public sealed class SelfSpeculationDrafter : ModelDrafter
{
    /// <summary>Creates the drafter; the budget's slack must hold a whole draft.</summary>
    public SelfSpeculationDrafter(IDecoder target, KvBudget budget, int maxGamma, int batchSize, SamplingOptions sampling)
        : base(target, CreateCache(target, budget, maxGamma, batchSize), sampling) { }

    /// <inheritdoc />
    public override string Name => "self";

    /// <inheritdoc />
    public override void ObservePrefill(KvCache target, ReadOnlySpan<int> counts) => target.CopyLastPassInto(Cache, counts);

    /// <inheritdoc />
    public override void Commit(KvCache target, ReadOnlySpan<int> lengthsBefore, ReadOnlySpan<int> accepted, ReadOnlySpan<bool> active)
    {
        // Drop the draft's own entries, then take the target's (full-context) KV of the last token and accepted drafts.
        var kept = new int[Cache.BatchSize];
        for (var b = 0; b < Cache.BatchSize; b++)
        {
            if (!active[b]) continue;
            Cache.RewindTo(b, lengthsBefore[b]);
            kept[b] = accepted[b] + 1;
        }
        target.CopyLastPassInto(Cache, kept);
    }

    private static KvCache CreateCache(IDecoder target, KvBudget budget, int maxGamma, int batchSize)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(budget);
        if (budget.Slack < maxGamma)
            throw new ArgumentException($"the budget's slack ({budget.Slack}) must hold a whole draft of up to {maxGamma} tokens", nameof(budget));
        return target.CreateCache(batchSize, new KvCacheOptions { Budget = budget });
    }
}
