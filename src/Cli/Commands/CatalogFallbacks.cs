using Condensa.Runtime;
using Condensa.Runtime.Sampling;

namespace Condensa.Cli.Commands;

/// <summary>
/// Generation settings of the commands that generate: what the command line gives, else the catalog entry's defaults,
/// else greedy, top-p 1 and 128 new tokens.
/// </summary>
internal static class CatalogFallbacks
{
    public static SamplingOptions Sampling(CatalogDefaults defaults, float? temperature, float? topP, int topK, int? seed) => new()
    {
        Temperature = temperature ?? defaults.Temperature ?? 0f,
        TopP = topP ?? defaults.TopP ?? 1f,
        TopK = topK,
        Seed = seed,
    };

    public static int MaxNewTokens(CatalogDefaults defaults, int? maxTokens) => maxTokens ?? defaults.MaxTokens ?? 128;
}
