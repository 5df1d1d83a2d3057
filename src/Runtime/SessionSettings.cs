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

    /// <summary>Whether ONNX Runtime's worker threads spin after a pass waiting for the next one. Spinning cuts a
    /// lone session's step latency; with two sessions taking turns (a draft and its target) each one's spinning
    /// threads steal cores from the other, so pairs should turn it off.</summary>
    public bool AllowSpinning { get; init; } = true;

    internal SessionOptions ToSessionOptions()
    {
        var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            LogSeverityLevel = LogLevel,
            IntraOpNumThreads = IntraOpThreads ?? Environment.ProcessorCount,
        };
        if (!AllowSpinning) options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        return options;
    }
}
