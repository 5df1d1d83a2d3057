using Condensa.Export;

namespace Condensa.TestSupport;

/// <summary>The shipped demo checkpoints (models/), exported once per test process.</summary>
public static class DemoExports
{
    private static readonly Lock Gate = new();
    private static readonly Dictionary<string, string> Made = [];

    /// <summary>The fp32 export folder of models/<paramref name="name"/>.</summary>
    public static string Get(string name)
    {
        lock (Gate)
        {
            if (Made.TryGetValue(name, out var export)) return export;
            var checkpoint = Path.Combine(RepositoryPaths.Models, name);
            export = Path.Combine(Path.GetTempPath(), "condensa-tests", $"demo-{name}-{Environment.ProcessId}");
            CheckpointExporter.Export(checkpoint, export, new ExportOptions());
            return Made[name] = export;
        }
    }
}
