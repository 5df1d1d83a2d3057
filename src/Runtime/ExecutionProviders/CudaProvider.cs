using System.Globalization;
using Microsoft.ML.OnnxRuntime;

namespace Condensa.Runtime.ExecutionProviders;

/// <summary>NVIDIA CUDA, in Microsoft.ML.OnnxRuntime.Gpu (build Condensa with <c>-p:OrtPackage=Gpu</c>).</summary>
internal sealed class CudaProvider() : ExecutionProvider("cuda", "CUDAExecutionProvider", deviceMemoryName: "Cuda",
    where: "install Microsoft.ML.OnnxRuntime.Gpu (build with -p:OrtPackage=Gpu)",
    requires: "the CUDA 13 runtime libraries (cudart, cuBLAS and cuBLASLt, cuRAND, cuFFT) and cuDNN 9 where the loader finds them " +
              "(LD_LIBRARY_PATH on Linux, PATH on Windows; README, \"Running on an NVIDIA GPU\")")
{
    /// <summary>Environment variable with extra CUDA provider options, <c>name=value;name=value</c> in ONNX Runtime's
    /// names (e.g. <c>tunable_op_enable=1</c>), for tuning experiments without a rebuild.</summary>
    public const string ExtraOptionsVariable = "CONDENSA_CUDA_OPTIONS";

    internal override void Append(SessionOptions session, ProviderOptions options)
    {
        // The CPU build fails here with OnnxRuntimeException ("CUDA execution provider is not enabled in this build").
        using var cuda = new OrtCUDAProviderOptions();
        cuda.UpdateOptions(OptionValues(options, Environment.GetEnvironmentVariable(ExtraOptionsVariable)));
        session.AppendExecutionProvider_CUDA(cuda);
    }

    /// <summary>The provider's options in ONNX Runtime's names: <paramref name="extra"/> (<see cref="ExtraOptionsVariable"/>)
    /// under Condensa's own settings, except the attention kernels and TF32, which an experiment may override.</summary>
    internal static Dictionary<string, string> OptionValues(ProviderOptions options, string? extra)
    {
        var values = ParseExtraOptions(extra);
        // Condensa's own settings win: its graph capture needs its fixed buffers, so enable_cuda_graph follows --graph-capture.
        values["device_id"] = options.DeviceId.ToString(CultureInfo.InvariantCulture);
        if (options.MemoryLimitBytes is { } limit) values["gpu_mem_limit"] = limit.ToString(CultureInfo.InvariantCulture);
        if (options.GraphCapture == true) values["enable_cuda_graph"] = "1";
        else values.Remove("enable_cuda_graph");
        if (options.AttentionKernels is { } kernels) values.TryAdd("sdpa_kernel", kernels.ToString(CultureInfo.InvariantCulture));
        // A float32 export's GEMMs in float32, not ONNX Runtime's default TF32 (a 10-bit mantissa, float16's): with TF32 a
        // verification pass and a decode step round the logits ~0.001 apart and greedy rows part at such near ties (round 26:
        // 1-3 of 24-192 rows); without it every mode kept plain decoding's tokens in all six cells of 8-64 rows measured, for
        // 0.6-3.4 % of the speed at 32 x 7,680 (round 27, docs/benchmarks.md). Half-precision GEMMs do not use TF32; use_tf32=1
        // in the variable brings it back.
        values.TryAdd("use_tf32", "0");
        return values;
    }

    /// <summary>Parses <c>name=value;name=value</c> (blank entries skipped); an entry without a name or '=' is an error
    /// naming the variable and the entry.</summary>
    internal static Dictionary<string, string> ParseExtraOptions(string? text)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in (text ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = entry.IndexOf('=');
            if (equals <= 0)
                throw new CondensaException($"${ExtraOptionsVariable}: entry '{entry}' is not name=value (entries are separated by ';').");
            values[entry[..equals].Trim()] = entry[(equals + 1)..].Trim();
        }
        return values;
    }
}
