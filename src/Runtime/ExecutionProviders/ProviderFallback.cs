using Microsoft.ML.OnnxRuntime;

namespace Condensa.Runtime.ExecutionProviders;

/// <summary>
/// Creates a session on the first provider of an ordered list that works: a provider the loaded build lacks, or whose
/// device cannot take the graph, is skipped with a note and the next one is tried. Configuration mistakes (an
/// option the provider cannot honour) stop at once: falling back would hide them.
/// </summary>
internal static class ProviderFallback
{
    /// <summary>A session, the provider it runs on, why each earlier provider was skipped, whether it captures CUDA
    /// graphs (false where auto capture was refused: <see cref="CreateSession(Func{ExecutionProvider, string}, SessionSettings)"/>),
    /// and the graph file it loaded.</summary>
    internal sealed record Result(InferenceSession Session, ExecutionProvider Provider, IReadOnlyList<string> Skipped, bool CapturesGraphs,
        string Graph);

    public static Result CreateSession(string graph, SessionSettings settings) => CreateSession(_ => graph, settings);

    /// <summary>The same, loading <paramref name="graphFor"/>'s graph on each provider tried (a model may start from
    /// another graph file on one provider than on another).</summary>
    public static Result CreateSession(Func<ExecutionProvider, string> graphFor, SessionSettings settings)
    {
        var providers = settings.ResolveProviders();
        foreach (var provider in providers) provider.Validate(settings.ProviderOptions);

        var skipped = new List<string>();
        for (var i = 0; i < providers.Count; i++)
        {
            var provider = providers[i];
            var last = i == providers.Count - 1;

            // 1) the provider must be in the loaded build
            SessionOptions options;
            var captures = settings.CapturesGraphs(provider);
            try
            {
                options = settings.ToSessionOptions(provider, captures);
            }
            catch (Exception e) when (e is EntryPointNotFoundException or OnnxRuntimeException)
            {
                var message = provider.UnavailableMessage(FirstLine(e.Message));
                if (last) throw new CondensaException(Summary(skipped, message), e);
                skipped.Add(message);
                continue;
            }

            // 2) the session must load on it (a GPU provider may find no device, or refuse the graph)
            var graph = graphFor(provider);
            using (options)
            {
                try
                {
                    return new Result(new InferenceSession(graph, options), provider, skipped, captures, graph);
                }
                catch (OnnxRuntimeException e) when (captures && settings.ProviderOptions.GraphCapture is null && e.Message.Contains("graph capture", StringComparison.OrdinalIgnoreCase))
                {
                    // Capture on by default, refused because some nodes run on the CPU (a layer-condensed graph's mask
                    // arithmetic): the graph runs uncaptured on the same device rather than not at all.
                    using var uncaptured = settings.ToSessionOptions(provider, captureGraphs: false);
                    return new Result(new InferenceSession(graph, uncaptured), provider, skipped, CapturesGraphs: false, graph);
                }
                catch (OnnxRuntimeException e) when (!last)
                {
                    skipped.Add($"provider '{provider.Name}' could not load {graph} ({FirstLine(e.Message)})");
                }
                catch (OnnxRuntimeException e)
                {
                    var on = provider == ExecutionProvider.Cpu ? "" : $" on provider '{provider.Name}'";
                    throw new CondensaException(Summary(skipped, $"{graph}: ONNX Runtime could not load the graph{on} ({e.Message})."), e);
                }
            }
        }
        throw new InvalidOperationException("unreachable: the provider list is never empty");
    }

    private static string Summary(List<string> skipped, string last) =>
        skipped.Count == 0 ? last : $"no execution provider could be used: {string.Join("; ", [.. skipped, last])}";

    private static string FirstLine(string text) => text.Split('\n', 2)[0].Trim();
}
