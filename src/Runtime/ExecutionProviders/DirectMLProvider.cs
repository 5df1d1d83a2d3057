using Microsoft.ML.OnnxRuntime;

namespace Condensa.Runtime.ExecutionProviders;

/// <summary>DirectML on Windows, in Microsoft.ML.OnnxRuntime.DirectML (build Condensa with <c>-p:OrtPackage=DirectML</c>).</summary>
internal sealed class DirectMLProvider() : ExecutionProvider("dml", "DmlExecutionProvider", deviceMemoryName: "DML",
    where: "install Microsoft.ML.OnnxRuntime.DirectML on Windows (build with -p:OrtPackage=DirectML)")
{
    internal override void Append(SessionOptions session, ProviderOptions options)
    {
        // DirectML runs one operator stream and plans its own memory: ONNX Runtime requires both settings off for it.
        session.EnableMemoryPattern = false;
        session.ExecutionMode = ExecutionMode.ORT_SEQUENTIAL;
        // The CPU build fails here with EntryPointNotFoundException (OrtSessionOptionsAppendExecutionProvider_DML).
        session.AppendExecutionProvider_DML(options.DeviceId);
    }

    internal override void Validate(ProviderOptions options)
    {
        base.Validate(options);
        if (options.MemoryLimitBytes is not null) throw new CondensaException("Execution provider 'dml' has no memory limit option (only cuda does).");
        if (options.GraphCapture == true) throw new CondensaException("Execution provider 'dml' does not support graph capture here (cuda and webgpu do).");
    }
}
