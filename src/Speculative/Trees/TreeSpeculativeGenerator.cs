using Condensa.Runtime;
using Condensa.Runtime.Generation;

namespace Condensa.Speculative.Trees;

/// <summary>
/// Token-tree speculative decoding (Sequoia) over a batch: each round the planner sizes a tree for the batch and
/// context, the drafter fills it, the target verifies every row's flattened tree in one pass, each row keeps its
/// accepted path plus one corrected or bonus token, and both caches keep only that path. Lossless like chain
/// speculation: greedy output equals plain greedy decoding, sampled output follows the target's distribution.
/// </summary>
public sealed class TreeSpeculativeGenerator
{
    private readonly IDecoder _target;

    /// <summary>Creates a generator for a target model; a layer-condensed target is refused (see <see cref="SpeculativeGenerator"/>).</summary>
    public TreeSpeculativeGenerator(IDecoder target)
    {
        _ = new SpeculativeGenerator(target);   // the same target checks as chain speculation
        _target = target;
    }

    /// <summary>Generates for a batch of prompts with the given drafter (created for the same batch size).</summary>
    public IReadOnlyList<GenerationResult> GenerateBatch(IReadOnlyList<IReadOnlyList<int>> prompts, ITreeDrafter drafter, TreeSpeculativeOptions options,
        SpeculativeStats? stats = null, CancellationToken cancellationToken = default) =>
        Start(prompts, drafter, options, stats ?? new SpeculativeStats()).RunToEnd(cancellationToken);

    /// <summary>Streams one sequence's tokens, a round's worth at a time.</summary>
    public async IAsyncEnumerable<int> StreamAsync(IReadOnlyList<int> prompt, ITreeDrafter drafter, TreeSpeculativeOptions options,
        SpeculativeStats? stats = null, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        // Started on the first MoveNext, as before: nothing runs (or needs disposing) for a stream never read.
        await foreach (var token in Start([prompt], drafter, options, stats ?? new SpeculativeStats()).StreamAsync(cancellationToken).ConfigureAwait(false))
            yield return token;
    }

    private TreeSpeculativeRun Start(IReadOnlyList<IReadOnlyList<int>> prompts, ITreeDrafter drafter, TreeSpeculativeOptions options, SpeculativeStats stats)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(drafter);
        ArgumentNullException.ThrowIfNull(options);
        if (prompts.Count == 0 || prompts.Any(p => p.Count == 0)) throw new ArgumentException("every prompt needs at least one token", nameof(prompts));
        var run = new TreeSpeculativeRun(_target, prompts, drafter, options, stats);
        try
        {
            run.Prefill();
            return run;
        }
        catch
        {
            run.Dispose();
            throw;
        }
    }
}
