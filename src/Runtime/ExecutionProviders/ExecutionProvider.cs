using System.Text.RegularExpressions;
using Microsoft.ML.OnnxRuntime;

namespace Condensa.Runtime.ExecutionProviders;

/// <summary>
/// An ONNX Runtime execution provider Condensa can run a model on: its command-line name, the name ONNX Runtime
/// reports, the package whose native build has it, and where device-resident buffers live. One sealed subclass per
/// provider; <see cref="Parse"/> maps a name to it.
/// </summary>
public abstract class ExecutionProvider
{
    private protected ExecutionProvider(string name, string ortName, string? deviceMemoryName, string where, string? requires = null)
    {
        Name = name;
        OrtName = ortName;
        DeviceMemoryName = deviceMemoryName;
        Where = where;
        Requires = requires;
    }

    /// <summary>The CPU provider, in every ONNX Runtime build.</summary>
    public static ExecutionProvider Cpu { get; } = new CpuProvider();

    /// <summary>NVIDIA CUDA (Microsoft.ML.OnnxRuntime.Gpu).</summary>
    public static ExecutionProvider Cuda { get; } = new CudaProvider();

    /// <summary>DirectML on Windows (Microsoft.ML.OnnxRuntime.DirectML).</summary>
    public static ExecutionProvider DirectML { get; } = new DirectMLProvider();

    /// <summary>WebGPU (Dawn over Vulkan, D3D12 or Metal), in builds compiled with it.</summary>
    public static ExecutionProvider WebGpu { get; } = new WebGpuProvider();

    /// <summary>Every provider, in the order <see cref="Parse"/> lists them.</summary>
    public static IReadOnlyList<ExecutionProvider> All { get; } = [Cpu, Cuda, DirectML, WebGpu];

    /// <summary>The name used on the command line, in models.json and in <see cref="SessionSettings.Providers"/>: cpu, cuda, dml, webgpu.</summary>
    public string Name { get; }

    /// <summary>The provider's name in ONNX Runtime (as <c>OrtEnv.GetAvailableProviders</c> reports it).</summary>
    public string OrtName { get; }

    /// <summary>
    /// The ONNX Runtime memory-info name of this provider's device buffers ("Cuda", "DML", "WebGPU_Buffer"); null for
    /// the CPU, whose buffers are host memory. Device-resident KV caches bind their buffers with this name through
    /// IOBinding.
    /// </summary>
    public string? DeviceMemoryName { get; }

    /// <summary>True when the provider computes on a device with its own memory (not the CPU).</summary>
    public bool HasDeviceMemory => DeviceMemoryName is not null;

    /// <summary>Where to get a build that has this provider (for the error when the loaded build lacks it).</summary>
    public string Where { get; }

    /// <summary>What the machine must have besides the build (for the error when the provider's libraries do not load).</summary>
    public string? Requires { get; }

    /// <summary>The provider called <paramref name="name"/> (case-insensitive; "directml" and "gpu" are aliases of dml and cuda).</summary>
    /// <exception cref="CondensaException">The name is not a known provider; the message lists the known ones.</exception>
    public static ExecutionProvider Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.Trim().ToLowerInvariant() switch
        {
            "cpu" => Cpu,
            "cuda" or "gpu" => Cuda,
            "dml" or "directml" => DirectML,
            "webgpu" => WebGpu,
            _ => throw new CondensaException($"Unknown execution provider '{name}' (known: {string.Join(", ", All.Select(p => p.Name))})."),
        };
    }

    /// <summary>Parses a comma-separated list ("webgpu,cpu") into providers, in order, without duplicates.</summary>
    /// <exception cref="CondensaException">The list is empty or names an unknown provider.</exception>
    public static IReadOnlyList<ExecutionProvider> ParseList(string list)
    {
        ArgumentNullException.ThrowIfNull(list);
        var names = list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (names.Length == 0) throw new CondensaException($"Execution provider list '{list}' is empty (known: {string.Join(", ", All.Select(p => p.Name))}).");
        return [.. names.Select(Parse).Distinct()];
    }

    /// <summary>Whether the loaded ONNX Runtime build reports this provider (the first ONNX Runtime call: see <see cref="OrtLibrary"/>).</summary>
    public bool IsAvailable() => OrtEnv.Instance().GetAvailableProviders().Contains(OrtName);

    /// <summary>
    /// Memory info for buffers on this provider's device <paramref name="deviceId"/>, for binding device-resident
    /// inputs and outputs; the CPU's default memory info for the CPU.
    /// </summary>
    public OrtMemoryInfo CreateMemoryInfo(int deviceId = 0) => DeviceMemoryName is null
        ? OrtMemoryInfo.DefaultInstance
        : new OrtMemoryInfo(DeviceMemoryName, OrtAllocatorType.DeviceAllocator, deviceId, OrtMemType.Default);

    /// <summary>Adds the provider to <paramref name="session"/>. Throws what ONNX Runtime throws when the build lacks it.</summary>
    internal abstract void Append(SessionOptions session, ProviderOptions options);

    /// <summary>Throws when <paramref name="options"/> asks for something this provider cannot do (a configuration
    /// error: no fallback is tried).</summary>
    internal virtual void Validate(ProviderOptions options)
    {
        if (options.DeviceId < 0) throw new CondensaException($"Execution provider '{Name}': device id {options.DeviceId} is negative.");
        if (options.MemoryLimitBytes is <= 0) throw new CondensaException($"Execution provider '{Name}': memory limit {options.MemoryLimitBytes} must be positive.");
    }

    /// <summary>
    /// The error for a provider ONNX Runtime could not add: when <paramref name="detail"/> says a library the provider
    /// loads is missing (the build has the provider, the machine lacks e.g. CUDA), names that library and what to
    /// install; otherwise <see cref="MissingMessage"/>.
    /// </summary>
    internal string UnavailableMessage(string detail)
    {
        var library = MissingLibrary(detail);
        if (library is null) return MissingMessage(detail);
        var install = Requires is null ? "" : $"; install {Requires}";
        return $"provider '{Name}' could not start: {library} could not be loaded{install} ({detail}).";
    }

    /// <summary>
    /// The library a loader error names as missing ("libcublasLt.so.13: cannot open shared object file"; Windows' error 126
    /// names only the module whose dependency failed), or null when the error is not about a missing library or the
    /// missing library is the provider's own module (then the build lacks the provider).
    /// </summary>
    internal static string? MissingLibrary(string detail)
    {
        var linux = Regex.Match(detail, @"([\w.+-]+\.so(?:\.\d+)*): cannot open shared object file");
        if (linux.Success)
            return linux.Groups[1].Value.StartsWith("libonnxruntime_providers_", StringComparison.Ordinal) ? null : linux.Groups[1].Value;
        var windows = Regex.Match(detail, @"error 126\b.*?([\w.+-]+\.dll)", RegexOptions.Singleline);
        return windows.Success ? $"a library that {windows.Groups[1].Value} depends on" : null;
    }

    /// <summary>The error for a provider the loaded build lacks: names the provider, the build's providers and where to get one.</summary>
    internal string MissingMessage(string detail)
    {
        string[] available;
        try
        {
            available = OrtEnv.Instance().GetAvailableProviders();
        }
        catch (Exception e) when (e is OnnxRuntimeException or DllNotFoundException or EntryPointNotFoundException)
        {
            available = [];
        }
        var build = available.Length == 1 && available[0] == Cpu.OrtName ? "CPU only" : $"providers: {string.Join(", ", available)}";
        return $"provider '{Name}' is not in the loaded ONNX Runtime build ({build}); {Where}, " +
               $"or pass --ort-library PATH (or set {OrtLibrary.EnvironmentVariable}) to load a native build that has it ({detail}).";
    }

    /// <inheritdoc />
    public override string ToString() => Name;
}
