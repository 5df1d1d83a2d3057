using Microsoft.ML.OnnxRuntime.Tensors;

namespace Condensa.Runtime;

internal static class KvElementType
{
    /// <summary>ONNX Runtime's element type of the KV tensors.</summary>
    public static TensorElementType ElementType(this KvDataType type) => type switch
    {
        KvDataType.Float32 => TensorElementType.Float,
        KvDataType.Float16 => TensorElementType.Float16,
        _ => TensorElementType.BFloat16,
    };
}
