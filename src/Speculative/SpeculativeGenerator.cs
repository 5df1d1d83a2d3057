using Condensa.Runtime;
using Condensa.Runtime.Generation;
using Condensa.Runtime.Sampling;

namespace Condensa.Speculative;

/// <summary>
/// Chain speculative decoding over a batch: each round the drafter proposes up to γ tokens per row, the target
/// verifies [last, d1..dγ] of every row in one pass, each row keeps its accepted prefix plus one corrected or bonus
/// token, and both caches are rewound to what was kept. Lossless: greedy output equals plain greedy decoding and
/// sampled output follows the target's distribution.
/// </summary>
public sealed class SpeculativeGenerator
{
    private readonly IDecoder _target;

    /// <summary>Creates a generator for a target model. A layer-condensed target cannot verify exactly and is refused.</summary>
    public SpeculativeGenerator(IDecoder target)
    {
        _target = target ?? throw new ArgumentNullException(nameof(target));
        var m = target.Manifest;
        if (m.KvLayers.Length != m.NumLayers)
            throw new CondensaException($"{m.Architecture} stores KV for {m.KvLayers.Length} of {m.NumLayers} layers (layer-condensed): verifying " +
                "several drafted tokens in one pass is not exact for such a target, because its lower layers read KV that later tokens' upper " +
                "layers have not produced yet. Use it as a draft, or generate without --speculative.");
    }

    /// <summary>Generates for a batch of prompts with the given drafter (created for the same batch size).</summary>
    public IReadOnlyList<GenerationResult> GenerateBatch(IReadOnlyList<IReadOnlyList<int>> prompts, IDrafter drafter, SpeculativeOptions options,
        SpeculativeStats? stats = null, CancellationToken cancellationToken = default) =>
        Start(prompts, drafter, options, stats ?? new SpeculativeStats()).RunToEnd(cancellationToken);

    /// <summary>Streams one sequence's tokens, a round's worth at a time.</summary>
    public async IAsyncEnumerable<int> StreamAsync(IReadOnlyList<int> prompt, IDrafter drafter, SpeculativeOptions options,
        SpeculativeStats? stats = null, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        // Started on the first MoveNext, as before: nothing runs (or needs disposing) for a stream never read.
        await foreach (var token in Start([prompt], drafter, options, stats ?? new SpeculativeStats()).StreamAsync(cancellationToken).ConfigureAwait(false))
            yield return token;
    }

    private SpeculativeRun Start(IReadOnlyList<IReadOnlyList<int>> prompts, IDrafter drafter, SpeculativeOptions options, SpeculativeStats stats)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(drafter);
        ArgumentNullException.ThrowIfNull(options);
        if (prompts.Count == 0 || prompts.Any(p => p.Count == 0)) throw new ArgumentException("every prompt needs at least one token", nameof(prompts));
        var run = new SpeculativeRun(_target, prompts, drafter, options, stats);
        run.Prefill();
        return run;
    }
}
