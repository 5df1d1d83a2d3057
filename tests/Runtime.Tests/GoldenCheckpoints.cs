using System.Text.Json;
using Condensa.Export;
using Condensa.TestSupport;

namespace Condensa.Runtime.Tests;

/// <summary>The fixtures transformers made (tests/TestData/golden): their folders, the readers of their JSON, and the tiny
/// phi3 checkpoint (longrope over 64 of 256 positions) exported once for the tests that share it.</summary>
internal static class GoldenCheckpoints
{
    /// <summary>The fixture folder <paramref name="name"/> under tests/TestData/golden.</summary>
    public static string Folder(string name) => Path.Combine(RepositoryPaths.TestData, "golden", name);

    /// <summary>The phi3 checkpoint's folder.</summary>
    public static string Phi3 => Folder("phi3");

    /// <summary>The phi3 checkpoint exported at fp32 (once per test run).</summary>
    public static string Phi3Export => LazyPhi3Export.Value;

    private static readonly Lazy<string> LazyPhi3Export = new(() =>
    {
        var dir = Path.Combine(Directory.CreateTempSubdirectory("condensa-golden-phi3-").FullName, "phi3");
        CheckpointExporter.Export(Phi3, dir, new ExportOptions());
        return dir;
    });

    /// <summary>A JSON array of integers.</summary>
    public static int[] Ints(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetInt32())];

    /// <summary>A JSON array of numbers.</summary>
    public static double[] Doubles(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetDouble())];
}
