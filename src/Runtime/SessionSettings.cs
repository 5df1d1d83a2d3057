using Condensa.Runtime.ExecutionProviders;
using Microsoft.ML.OnnxRuntime;

namespace Condensa.Runtime;

/// <summary>How ONNX Runtime sessions are created for a model.</summary>
public sealed record SessionSettings
{
    /// <summary>Threads for one operator; null = one per core, the best setting for memory-bound decoding on a
    /// desktop CPU.</summary>
    public int? IntraOpThreads { get; init; }

    /// <summary>ONNX Runtime's log level for the session (warnings by default, so a user sees only problems).</summary>
    public OrtLoggingLevel LogLevel { get; init; } = OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING;

    /// <summary>Whether ONNX Runtime's worker threads spin between passes, waiting for the next one, instead of sleeping.
    /// Sessions that spin and ask for the same thread count share one pool (<see cref="ExecutionProviders.SharedThreadPool"/>),
    /// so sessions that take turns on the cores (a model's causal and general graphs, a draft and its target) do not
    /// spin on cores another one needs; a session that cannot join the pool spins only within a pass (ONNX Runtime's
    /// session.force_spinning_stop). Off: the threads never spin (less CPU time, slower passes).</summary>
    public bool AllowSpinning { get; init; } = true;

    /// <summary>
    /// Execution providers to try, in order (names of <see cref="ExecutionProvider.Parse"/>: cpu, cuda, dml, webgpu):
    /// the model runs on the first one the loaded ONNX Runtime build has and whose device takes the graph
    /// (<see cref="DecoderModel.Provider"/> says which). ["webgpu", "cpu"] falls back to the CPU; ["cuda"] alone fails
    /// with an error naming the package that has CUDA. Operators a provider cannot run go to the CPU inside one session.
    /// </summary>
    public IReadOnlyList<string> Providers { get; init; } = ["cpu"];

    /// <summary>Where KV caches live: on the device of a GPU provider by default (<see cref="KvResidence"/>).</summary>
    public KvResidence KvResidence { get; init; } = KvResidence.Auto;

    /// <summary>Device options of the GPU providers (device id, memory limit, graph capture).</summary>
    public ProviderOptions ProviderOptions { get; init; } = ProviderOptions.Default;

    /// <summary>
    /// Whether causal passes over a standard KV cache run the export's causal graph (one fused GroupQueryAttention per
    /// layer, docs/ARCHITECTURE.md "The causal graph") instead of the general one: null (auto) = on the CPU and, for
    /// float16 exports, on cuda, where it was measured faster (docs/benchmarks.md); true = wherever the export has one
    /// (an error where it has none);
    /// false = never. Chains of several tokens per row at batch &gt; 1, which GroupQueryAttention refuses, take the export's
    /// multi-row causal graph where one is loaded (<see cref="UsesAttentionGraphs"/>); passes no causal graph can take (token
    /// trees, budgeted caches) run the export's slots graph where it is loaded (the same rule) and the pass fits it, else the
    /// general graph; false keeps every pass on the general graph.
    /// </summary>
    public bool? FusedAttention { get; init; }

    /// <summary>Environment variable naming a file prefix: when set, every session writes ONNX Runtime's profile
    /// (a Chrome trace with each node's provider and duration per pass) to PREFIX_*.json when it closes.</summary>
    public const string ProfileVariable = "CONDENSA_ORT_PROFILE";

    /// <summary>The providers of <see cref="Providers"/>, parsed; an unknown name or an empty list is an error.</summary>
    internal IReadOnlyList<ExecutionProvider> ResolveProviders()
    {
        if (Providers is null || Providers.Count == 0)
            throw new CondensaException($"SessionSettings.Providers is empty; name at least one of {string.Join(", ", ExecutionProvider.All.Select(p => p.Name))}.");
        return [.. Providers.SelectMany(ExecutionProvider.ParseList).Distinct()];
    }

    /// <summary>
    /// Whether the model's session on <paramref name="provider"/> captures CUDA graphs: <see cref="ProviderOptions.GraphCapture"/>
    /// when set, else on for cuda with the KV cache on the device. Only cuda captures through Condensa's fixed buffers.
    /// </summary>
    /// <exception cref="CondensaException">Capture is asked for on cuda with the KV cache in host memory.</exception>
    internal bool CapturesGraphs(ExecutionProvider provider)
    {
        if (provider != ExecutionProvider.Cuda) return false;
        if (ProviderOptions.GraphCapture == true && KvResidence == KvResidence.Host)
            throw new CondensaException("CUDA graph capture needs the KV cache on the device (--kv-residence auto or device), not in host memory.");
        return ProviderOptions.GraphCapture ?? KvResidence != KvResidence.Host;
    }

    /// <summary>Whether a model on <paramref name="provider"/> loads its causal graph (<see cref="FusedAttention"/>); auto
    /// takes it on the CPU, and on cuda for float16 and bfloat16 exports, since the CUDA GroupQueryAttention kernels are half-precision
    /// only. The other providers keep the general graph until the causal one is measured there. An export whose causal graphs
    /// use ONNX Runtime's SwiGLU (<see cref="ModelManifest.CudaSwiGlu"/>) takes them on cuda alone, the one provider with its kernel.</summary>
    /// <exception cref="CondensaException">Fused attention forced on, on a provider other than cuda, for such an export.</exception>
    internal bool UsesFusedAttention(ExecutionProvider provider, ModelManifest manifest)
    {
        if (manifest.CudaSwiGlu && provider != ExecutionProvider.Cuda)
        {
            if (FusedAttention == true)
                throw new CondensaException($"{ModelManifest.FileName}: cuda_swiglu is true: this {manifest.DType} export's causal graphs " +
                    $"compute the MLP with ONNX Runtime's SwiGLU, which only the cuda provider has, so {provider.Name} cannot run them. " +
                    "Use --fused-attention auto or off there (the general graph), or export with --swiglu off.");
            return false;
        }
        return FusedAttention ?? (provider == ExecutionProvider.Cpu || (provider == ExecutionProvider.Cuda && manifest.KvType != KvDataType.Float32));
    }

    /// <summary>Whether a model on <paramref name="provider"/> also loads its graphs that attend through ONNX Attention (each
    /// another copy of the weights, loaded at the first pass that needs it): the multi-row causal graph beside a causal
    /// graph, and the slots graph beside either graph that runs first. Under auto they load on cuda, where the general graph's
    /// attention reads every cached key through a score tensor as large as the cache in a few dozen nodes a layer; there a float32
    /// export, which has no causal graph on cuda (GroupQueryAttention's CUDA kernels are half-precision only), runs its
    /// plain steps on the slots graph too, 1.14-1.15x the general graph's decode and 1.21x its self-speculation at 32 x
    /// 7,680 on an H100 with the same tokens (docs/benchmarks.md round 25). Forced on, on any provider; forced off, never.
    /// On the CPU under auto the general graph's MatMul attention is the faster one at long contexts (docs/benchmarks.md).</summary>
    internal bool UsesAttentionGraphs(ExecutionProvider provider) => FusedAttention ?? provider == ExecutionProvider.Cuda;

    /// <summary>Session options running on <paramref name="provider"/>, with CUDA graph capture when
    /// <paramref name="captureGraphs"/>; throws what ONNX Runtime throws when the loaded build lacks the provider
    /// (EntryPointNotFoundException or OnnxRuntimeException).</summary>
    internal SessionOptions ToSessionOptions(ExecutionProvider provider, bool captureGraphs)
    {
        var threads = IntraOpThreads ?? Environment.ProcessorCount;
        var shared = AllowSpinning && ExecutionProviders.SharedThreadPool.Serves(threads);   // before SessionOptions creates the environment
        var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, LogSeverityLevel = LogLevel };
        try
        {
            if (shared)
            {
                options.DisablePerSessionThreads();
            }
            else
            {
                options.IntraOpNumThreads = threads;
                options.AddSessionConfigEntry(AllowSpinning ? "session.force_spinning_stop" : "session.intra_op.allow_spinning", AllowSpinning ? "1" : "0");
            }
            if (Environment.GetEnvironmentVariable(ProfileVariable) is { Length: > 0 } prefix)
            {
                // ONNX Runtime's per-node trace (provider, duration) of every pass, written when the session closes.
                options.ProfileOutputPathPrefix = prefix;   // before EnableProfiling, which passes it to ONNX Runtime
                options.EnableProfiling = true;
            }
            provider.Append(options, provider == ExecutionProvider.Cuda ? ProviderOptions with { GraphCapture = captureGraphs } : ProviderOptions);
            return options;
        }
        catch
        {
            options.Dispose();
            throw;
        }
    }
}
