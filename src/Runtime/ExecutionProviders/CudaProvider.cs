using System.Globalization;
using Microsoft.ML.OnnxRuntime;

namespace Condensa.Runtime.ExecutionProviders;

/// <summary>NVIDIA CUDA, in Microsoft.ML.OnnxRuntime.Gpu (build Condensa with <c>-p:OrtPackage=Gpu</c>).</summary>
internal sealed class CudaProvider() : ExecutionProvider("cuda", "CUDAExecutionProvider", deviceMemoryName: "Cuda",
    where: "install Microsoft.ML.OnnxRuntime.Gpu (build with -p:OrtPackage=Gpu)",
    requires: "the CUDA 13 runtime libraries (cudart, cuBLAS and cuBLASLt, cuRAND, cuFFT) and cuDNN 9 where the loader finds them " +
              "(LD_LIBRARY_PATH on Linux, PATH on Windows; README, \"Running on an NVIDIA GPU\")")
{
    internal override void Append(SessionOptions session, ProviderOptions options)
    {
        // The CPU build fails here with OnnxRuntimeException ("CUDA execution provider is not enabled in this build").
        using var cuda = new OrtCUDAProviderOptions();
        var values = new Dictionary<string, string> { ["device_id"] = options.DeviceId.ToString(CultureInfo.InvariantCulture) };
        if (options.MemoryLimitBytes is { } limit) values["gpu_mem_limit"] = limit.ToString(CultureInfo.InvariantCulture);
        if (options.GraphCapture == true) values["enable_cuda_graph"] = "1";
        cuda.UpdateOptions(values);
        session.AppendExecutionProvider_CUDA(cuda);
    }
}
