using Condensa.Export;

namespace Condensa.TestSupport;

/// <summary>Tiny random checkpoints exported once per test process and shared by the tests that load them.</summary>
public static class TinyExports
{
    private static readonly Lock Gate = new();
    private static readonly Dictionary<string, (TinyModelSpec Spec, string Checkpoint, string Export)> Made = [];

    /// <summary>Checkpoint and export folders for <paramref name="spec"/> under <paramref name="key"/> (created on first use).
    /// A key names one spec: asking for it with another is an error, not whichever spec came first in the test order.
    /// <paramref name="swiGlu"/> is <see cref="ExportOptions.SwiGlu"/> (false: half-precision graphs the CPU can run fused).</summary>
    public static (string Checkpoint, string Export) Get(string key, TinyModelSpec spec, ExportPrecision precision = ExportPrecision.Fp32,
        bool? swiGlu = null)
    {
        key = $"{key}-{precision}" + (swiGlu is { } fused ? $"-swiglu-{fused}" : "");
        lock (Gate)
        {
            if (Made.TryGetValue(key, out var made))
                return made.Spec == spec ? (made.Checkpoint, made.Export)
                    : throw new InvalidOperationException($"tiny export '{key}' was made from another spec; give this one a key of its own.");
            var root = Path.Combine(Path.GetTempPath(), "condensa-tests", $"{key}-{Environment.ProcessId}");
            var checkpoint = Path.Combine(root, "checkpoint");
            var export = Path.Combine(root, "export");
            TinyCheckpoint.Write(checkpoint, spec);
            CheckpointExporter.Export(checkpoint, export, new ExportOptions { Precision = precision, SwiGlu = swiGlu });
            Made[key] = (spec, checkpoint, export);
            return (checkpoint, export);
        }
    }

    /// <summary>Deterministic token ids in [3, vocab) (0..2 are pad, bos and eos in the tiny specs).</summary>
    public static int[] Ids(int count, int seed, int vocab = 320)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(_ => random.Next(3, vocab))];
    }
}
