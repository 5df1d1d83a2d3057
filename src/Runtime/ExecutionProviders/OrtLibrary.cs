using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;

namespace Condensa.Runtime.ExecutionProviders;

/// <summary>
/// Loads another native ONNX Runtime build (a GPU build, a custom one) in place of the one shipped with the
/// Microsoft.ML.OnnxRuntime package. The managed binding finds its native library once, on the first ONNX Runtime
/// call of the process, so <see cref="Use"/> must run before anything touches ONNX Runtime (creating a
/// <see cref="DecoderModel"/>, <c>OrtEnv.Instance()</c>, a <c>SessionOptions</c>); after that it can only confirm
/// that the library already loaded is the one asked for.
/// </summary>
public static class OrtLibrary
{
    /// <summary>Environment variable naming a native ONNX Runtime library to load (used when no path is given).</summary>
    public const string EnvironmentVariable = "CONDENSA_ORT_LIBRARY";

    private static readonly Lock Gate = new();
    private static string? _path;

    /// <summary>The library set by <see cref="Use"/>, or null when the package's own is used.</summary>
    public static string? Path
    {
        get { lock (Gate) return _path; }
    }

    /// <summary>
    /// Uses <paramref name="path"/>, else $CONDENSA_ORT_LIBRARY, else (both absent) the package's own library.
    /// Returns the path used, or null.
    /// </summary>
    /// <exception cref="CondensaException">The file does not exist, another library was already chosen, or ONNX
    /// Runtime is already loaded from another file.</exception>
    public static string? Use(string? path = null)
    {
        path ??= Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } env ? env : null;
        if (path is null) return null;
        var full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full)) throw new CondensaException($"{path}: ONNX Runtime library not found (--ort-library or {EnvironmentVariable}).");
        lock (Gate)
        {
            if (_path is not null)
            {
                if (SameFile(_path, full)) return _path;
                throw new CondensaException($"{path}: ONNX Runtime is already set to load {_path}; a process can use one native build.");
            }
            if (LoadedFrom() is { } loaded)
            {
                if (SameFile(loaded, full)) return _path = full;
                throw new CondensaException($"{path}: ONNX Runtime is already loaded from {loaded}; --ort-library must be set before the first " +
                    "ONNX Runtime call of the process.");
            }
            NativeLibrary.SetDllImportResolver(typeof(OrtEnv).Assembly, Resolve);
            return _path = full;
        }
    }

    /// <summary>The file the process loaded ONNX Runtime's native library from, or null when it is not loaded yet.</summary>
    public static string? LoadedFrom()
    {
        using var process = Process.GetCurrentProcess();
        foreach (ProcessModule module in process.Modules)
        {
            var name = module.ModuleName;
            if (name.StartsWith("libonnxruntime.so", StringComparison.Ordinal) || name.StartsWith("libonnxruntime.", StringComparison.Ordinal)
                || name.Equals("onnxruntime.dll", StringComparison.OrdinalIgnoreCase))
                return module.FileName;
        }
        return null;
    }

    private static IntPtr Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath) =>
        libraryName == "onnxruntime" && Path is { } path ? NativeLibrary.Load(path) : IntPtr.Zero;

    private static bool SameFile(string a, string b) =>
        string.Equals(Canonical(a), Canonical(b), OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);

    private static string Canonical(string path)
    {
        var info = new FileInfo(path);
        return info.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? info.FullName;
    }
}
