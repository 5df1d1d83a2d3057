using Condensa.Runtime;
using Condensa.Runtime.Generation;
using Condensa.Speculative;
using Condensa.Tokenization;

namespace Condensa.Cli;

/// <summary>A drafter and the γ settings of a speculative run.</summary>
internal sealed record SpeculativeRunSetup(IDrafter Drafter, int? Gamma, int MaxGamma);

/// <summary>One generation as the CLI runs it: plain, or speculative when a drafter is given; same tokens either way
/// for greedy decoding.</summary>
internal sealed class GenerationRun(DecoderModel model, CheckpointTokenizer tokenizer, GenerationOptions options, SpeculativeRunSetup? speculation)
{
    public DecoderModel Model => model;
    public CheckpointTokenizer Tokenizer => tokenizer;
    public GenerationOptions Options => options;
    public SpeculativeRunSetup? Speculation => speculation;
    public SpeculativeStats? SpeculativeStats { get; } = speculation is null ? null : new SpeculativeStats();
    public GenerationStats Stats => SpeculativeStats?.Generation ?? _plainStats;

    private readonly GenerationStats _plainStats = new();

    public IAsyncEnumerable<int> StreamAsync(IReadOnlyList<int> prompt, CancellationToken cancellationToken) =>
        speculation is null
            ? new Generator(model).StreamAsync(prompt, options, _plainStats, cancellationToken: cancellationToken)
            : new SpeculativeGenerator(model).StreamAsync(prompt, speculation.Drafter,
                new SpeculativeOptions { Generation = options, Gamma = speculation.Gamma, MaxGamma = speculation.MaxGamma },
                SpeculativeStats, cancellationToken);
}
