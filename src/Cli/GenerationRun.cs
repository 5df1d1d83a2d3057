using Condensa.Runtime;
using Condensa.Runtime.Generation;
using Condensa.Speculative;
using Condensa.Speculative.Trees;
using Condensa.Tokenization;

namespace Condensa.Cli;

/// <summary>A drafter and the γ settings of a speculative run.</summary>
internal sealed record SpeculativeRunSetup(IDrafter Drafter, int? Gamma, int MaxGamma);

/// <summary>A tree drafter and the planner that sizes each round's tree.</summary>
internal sealed record TreeRunSetup(ITreeDrafter Drafter, TreePlanner Planner);

/// <summary>One generation as the CLI runs it: plain, or speculative (chain or tree) when a drafter is given; same tokens
/// either way for greedy decoding.</summary>
internal sealed class GenerationRun(DecoderModel model, CheckpointTokenizer tokenizer, GenerationOptions options, SpeculativeRunSetup? speculation,
    TreeRunSetup? tree = null)
{
    public DecoderModel Model => model;
    public CheckpointTokenizer Tokenizer => tokenizer;
    public GenerationOptions Options => options;
    public SpeculativeRunSetup? Speculation => speculation;
    public TreeRunSetup? Tree => tree;
    public SpeculativeStats? SpeculativeStats { get; } = speculation is null && tree is null ? null : new SpeculativeStats();

    /// <summary>The drafter's name for stats, or null for plain decoding.</summary>
    public string? DrafterName => speculation?.Drafter.Name ?? (tree is null ? null : $"tree-{tree.Drafter.Name}");
    public GenerationStats Stats => SpeculativeStats?.Generation ?? _plainStats;

    private readonly GenerationStats _plainStats = new();

    public IAsyncEnumerable<int> StreamAsync(IReadOnlyList<int> prompt, CancellationToken cancellationToken) =>
        tree is not null
            ? new TreeSpeculativeGenerator(model).StreamAsync(prompt, tree.Drafter,
                new TreeSpeculativeOptions { Generation = options, Planner = tree.Planner }, SpeculativeStats, cancellationToken)
        : speculation is null
            ? new Generator(model).StreamAsync(prompt, options, _plainStats, cancellationToken: cancellationToken)
            : new SpeculativeGenerator(model).StreamAsync(prompt, speculation.Drafter,
                new SpeculativeOptions { Generation = options, Gamma = speculation.Gamma, MaxGamma = speculation.MaxGamma },
                SpeculativeStats, cancellationToken);
}
