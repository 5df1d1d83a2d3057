using Condensa.Export;
using Condensa.TestSupport;

namespace Condensa.Runtime.Tests;

/// <summary>The tiny model variants the runtime tests use, by name.</summary>
internal static class TinyModels
{
    /// <summary>The named variants the runtime tests use.</summary>
    public static TinyModelSpec Spec(string name) => name switch
    {
        "llama" => new TinyModelSpec { Architecture = "llama", TieWordEmbeddings = true, RopeType = "llama3", Seed = 11 },
        "mistral" => new TinyModelSpec { Architecture = "mistral", SlidingWindow = 6, Seed = 12 },
        "qwen2" => new TinyModelSpec { Architecture = "qwen2", Seed = 13 },
        "llama-long" => new TinyModelSpec { Architecture = "llama", MaxPositionEmbeddings = 40, Seed = 14 },
        "llama-mha" => new TinyModelSpec { Architecture = "llama", NumKvHeads = 4, Seed = 15 },
        _ => throw new ArgumentException(name, nameof(name)),
    };

    /// <summary>Checkpoint and export folders of a variant (created on first use).</summary>
    public static (string Checkpoint, string Export) Get(string name, ExportPrecision precision = ExportPrecision.Fp32, bool? swiGlu = null) =>
        TinyExports.Get(name, Spec(name), precision, swiGlu);

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

    /// <summary>Deterministic token ids in [3, vocab).</summary>
    public static int[] Ids(int count, int seed, int vocab = 320) => TinyExports.Ids(count, seed, vocab);
}
