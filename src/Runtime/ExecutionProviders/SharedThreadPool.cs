using Microsoft.ML.OnnxRuntime;

namespace Condensa.Runtime.ExecutionProviders;

/// <summary>
/// One pool of ONNX Runtime CPU threads for every session of the process that spins and asks for its thread count, created
/// with the process's ONNX Runtime environment. Sessions that take turns on the cores (a model's causal and general graphs,
/// a draft and its target) each had a pool of their own, whose threads spun after a pass on the cores the next session
/// needed; with one pool the threads that finish one session's pass take the next session's work (docs/benchmarks.md,
/// "Sessions taking turns").
/// </summary>
internal static class SharedThreadPool
{
    private static readonly Lock Gate = new();
    private static int? _threads;   // the pool's size; null while there is none (the environment existed before it)

    /// <summary>
    /// Whether a session of <paramref name="threads"/> intra-op threads can run on the shared pool: it creates the pool,
    /// with the environment, when ONNX Runtime's environment does not exist yet (call it before the first SessionOptions,
    /// which creates the environment); a pool of another size, or an environment created without one, cannot.
    /// </summary>
    public static bool Serves(int threads)
    {
        lock (Gate)
        {
            if (_threads is null && !OrtEnv.IsCreated)
            {
                using var threading = new OrtThreadingOptions
                {
                    GlobalIntraOpNumThreads = threads,
                    GlobalInterOpNumThreads = 1,   // passes run their nodes in sequence
                    GlobalSpinControl = true,
                };
                var options = new EnvironmentCreationOptions { threadOptions = threading, logLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING };
                OrtEnv.CreateInstanceWithOptions(ref options);
                _threads = threads;
            }
            return _threads == threads;
        }
    }
}
