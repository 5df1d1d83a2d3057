using Microsoft.ML.OnnxRuntime;

namespace Condensa.Runtime.ExecutionProviders;

/// <summary>The CPU provider: ONNX Runtime's default, in every build. Device options do not apply to it.</summary>
internal sealed class CpuProvider() : ExecutionProvider("cpu", "CPUExecutionProvider", deviceMemoryName: null, where: "every build has it")
{
    // A session without an appended provider runs on the CPU; appending it explicitly would only pin the arena choice.
    internal override void Append(SessionOptions session, ProviderOptions options) { }

    internal override void Validate(ProviderOptions options) { }
}
