using Condensa.Runtime;
using Condensa.Runtime.Batching;
using Condensa.Runtime.Generation;
using Condensa.Speculative;
using Condensa.Tokenization;

namespace Condensa.Cli;

/// <summary>One generation as the CLI runs it: plain, or speculative when <paramref name="speculation"/> asks for it;
/// the same tokens either way for greedy decoding.</summary>
internal sealed class GenerationRun(DecoderModel model, CheckpointTokenizer tokenizer, GenerationOptions options, SpeculationOptions speculation,
    DecoderModel? draft = null)
{
    public DecoderModel Model => model;
    public CheckpointTokenizer Tokenizer => tokenizer;
    public GenerationOptions Options => options;
    public SpeculativeStats? SpeculativeStats { get; } = speculation.Mode == SpeculationMode.None ? null : new SpeculativeStats();

    /// <summary>The speculative mode's name for stats, or null for plain decoding.</summary>
    public string? DrafterName => SpeculativeStats is null ? null : speculation.Name;
    public GenerationStats Stats => SpeculativeStats?.Generation ?? _plainStats;

    private readonly GenerationStats _plainStats = new();

    public async IAsyncEnumerable<int> StreamAsync(IReadOnlyList<int> prompt, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var step = Speculation.CreateStep(model, speculation, batchSize: 1, options.Sampling, draft, SpeculativeStats);
        try
        {
            await foreach (var token in new Generator(model, step).StreamAsync(prompt, options, Stats, cancellationToken: cancellationToken))
                yield return token;
        }
        finally
        {
            (step as IDisposable)?.Dispose();
        }
    }
}
