using Condensa.Export;
using Condensa.TestSupport;

namespace Condensa.Runtime.Tests;

/// <summary>Tiny random checkpoints exported once per test run and shared by the tests that load them.</summary>
internal static class TinyModels
{
    private static readonly Lock Gate = new();
    private static readonly Dictionary<string, (string Checkpoint, string Export)> Made = [];

    /// <summary>The named variants the runtime tests use.</summary>
    public static TinyModelSpec Spec(string name) => name switch
    {
        "llama" => new TinyModelSpec { Architecture = "llama", TieWordEmbeddings = true, RopeType = "llama3", Seed = 11 },
        "mistral" => new TinyModelSpec { Architecture = "mistral", SlidingWindow = 6, Seed = 12 },
        "qwen2" => new TinyModelSpec { Architecture = "qwen2", Seed = 13 },
        "llama-long" => new TinyModelSpec { Architecture = "llama", MaxPositionEmbeddings = 40, Seed = 14 },
        _ => throw new ArgumentException(name, nameof(name)),
    };

    /// <summary>Checkpoint and fp32 export folders of a variant (created on first use).</summary>
    public static (string Checkpoint, string Export) Get(string name, ExportPrecision precision = ExportPrecision.Fp32)
    {
        var key = $"{name}-{precision}";
        lock (Gate)
        {
            if (Made.TryGetValue(key, out var made)) return made;
            var root = Path.Combine(Path.GetTempPath(), "condensa-tests", $"{key}-{Environment.ProcessId}");
            var checkpoint = Path.Combine(root, "checkpoint");
            var export = Path.Combine(root, "export");
            TinyCheckpoint.Write(checkpoint, Spec(name));
            CheckpointExporter.Export(checkpoint, export, new ExportOptions { Precision = precision });
            return Made[key] = (checkpoint, export);
        }
    }

    /// <summary>Max |a - b| / max |b| over a row.</summary>
    public static double RelativeError(ReadOnlySpan<float> actual, double[] expected)
    {
        double diff = 0, scale = 0;
        for (var i = 0; i < expected.Length; i++)
        {
            diff = Math.Max(diff, Math.Abs(actual[i] - expected[i]));
            scale = Math.Max(scale, Math.Abs(expected[i]));
        }
        return diff / scale;
    }

    /// <summary>Deterministic token ids in [3, vocab) (0..2 are pad/bos/eos in the tiny specs).</summary>
    public static int[] Ids(int count, int seed, int vocab = 320)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(_ => random.Next(3, vocab))];
    }
}
