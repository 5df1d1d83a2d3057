using System.Globalization;
using Microsoft.ML.OnnxRuntime;

namespace Condensa.Runtime.ExecutionProviders;

/// <summary>
/// WebGPU (Dawn over Vulkan, D3D12 or Metal), in ONNX Runtime builds compiled with it; no NuGet package on this
/// project's feed has it, so it is loaded with <see cref="OrtLibrary"/> (the GPU machine's bundle: ../shared/gpu/README.md).
/// </summary>
internal sealed class WebGpuProvider() : ExecutionProvider("webgpu", "WebGpuExecutionProvider", deviceMemoryName: "WebGPU_Buffer",
    where: "no NuGet package on this feed has it: use an ONNX Runtime build compiled with WebGPU (the npm package onnxruntime-node 1.30+ ships one for Linux x64)")
{
    internal override void Append(SessionOptions session, ProviderOptions options)
    {
        // Short option names: ONNX Runtime prefixes them with "ep.webgpuexecutionprovider.". The CPU build fails here
        // with OnnxRuntimeException ("WebGPU execution provider is not supported in this build").
        var values = new Dictionary<string, string> { ["deviceId"] = options.DeviceId.ToString(CultureInfo.InvariantCulture) };
        if (options.GraphCapture == true) values["enableGraphCapture"] = "1";
        session.AppendExecutionProvider("WebGPU", values);
    }

    internal override void Validate(ProviderOptions options)
    {
        base.Validate(options);
        if (options.MemoryLimitBytes is not null) throw new CondensaException("Execution provider 'webgpu' has no memory limit option (only cuda does).");
    }
}
