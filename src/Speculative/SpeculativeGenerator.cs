using Condensa.Runtime;
using Condensa.Runtime.Generation;

namespace Condensa.Speculative;

/// <summary>
/// Speculative generation with a caller's drafter: <see cref="Generator"/> with a <see cref="SpeculativeDecodeStep"/>.
/// Each round the drafter proposes a chain of up to γ tokens (or a tree, with <see cref="SpeculativeOptions.Planner"/>)
/// per row, the target verifies every row's proposal in one pass, and each row keeps its accepted prefix plus one
/// corrected or bonus token. Lossless: greedy output equals plain greedy decoding and sampled output follows the
/// target's distribution. <see cref="Speculation"/> builds the drafter from options instead.
/// </summary>
public sealed class SpeculativeGenerator
{
    private readonly IDecoder _target;

    /// <summary>Creates a generator for a target model. A layer-condensed target cannot verify exactly and is refused.</summary>
    public SpeculativeGenerator(IDecoder target)
    {
        _target = target ?? throw new ArgumentNullException(nameof(target));
        Speculation.CheckTarget(target.Manifest);
    }

    /// <summary>Generates for a batch of prompts with the given drafter (created for the same batch size).</summary>
    public IReadOnlyList<GenerationResult> GenerateBatch(IReadOnlyList<IReadOnlyList<int>> prompts, IDrafter drafter, SpeculativeOptions options,
        SpeculativeStats? stats = null, CancellationToken cancellationToken = default)
    {
        var (step, spec) = Step(_target, drafter, options, stats);
        return new Generator(_target, step).GenerateBatch(prompts, options.Generation, spec.Generation, cancellationToken);
    }

    /// <summary>Streams one sequence's tokens, a round's worth at a time.</summary>
    public IAsyncEnumerable<int> StreamAsync(IReadOnlyList<int> prompt, IDrafter drafter, SpeculativeOptions options,
        SpeculativeStats? stats = null, CancellationToken cancellationToken = default)
    {
        var (step, spec) = Step(_target, drafter, options, stats);
        return new Generator(_target, step).StreamAsync(prompt, options.Generation, spec.Generation, cancellationToken: cancellationToken);
    }

    private static (SpeculativeDecodeStep Step, SpeculativeStats Stats) Step(IDecoder target, IDrafter drafter, SpeculativeOptions options,
        SpeculativeStats? stats)
    {
        ArgumentNullException.ThrowIfNull(drafter);
        ArgumentNullException.ThrowIfNull(options);
        stats ??= new SpeculativeStats();
        return (new SpeculativeDecodeStep(drafter, options.CreatePlanner(drafter, target), options.Generation.Sampling.Seed, stats), stats);
    }
}
