using System.Diagnostics;
using System.Globalization;

namespace Condensa.Cli.Bench;

/// <summary>What a benchmark ran on, for the chart's subtitle, and how much memory the run took.</summary>
internal static class Machine
{
    /// <summary>"AMD EPYC, 2 logical cores": the CPU's model name (Linux) and the cores this process may use.</summary>
    public static string Describe()
    {
        const string cpuInfo = "/proc/cpuinfo";
        var name = File.Exists(cpuInfo)
            ? File.ReadLines(cpuInfo).FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim()
            : null;
        return $"{name ?? System.Runtime.InteropServices.RuntimeInformation.OSDescription}, {Environment.ProcessorCount} logical cores";
    }

    /// <summary>The process's peak working set so far in bytes (VmHWM on Linux).</summary>
    public static long PeakWorkingSet()
    {
        using var process = Process.GetCurrentProcess();
        return process.PeakWorkingSet64;
    }

    /// <summary>"peak working set: 1.23 GiB (1,320,702,443 B)".</summary>
    public static string DescribePeak(long bytes) =>
        string.Create(CultureInfo.InvariantCulture, $"peak working set: {bytes / (double)(1L << 30):F2} GiB ({bytes:N0} B)");
}
