namespace Condensa.Runtime;

/// <summary>Element type of the KV buffers, the same as the graph's model dtype.</summary>
public enum KvDataType
{
    /// <summary>32-bit IEEE float.</summary>
    Float32,
    /// <summary>16-bit IEEE float.</summary>
    Float16,
    /// <summary>bfloat16 (a bfloat16 export; GPU providers only).</summary>
    BFloat16,
}

internal static class KvDataTypeExtensions
{
    public static int SizeInBytes(this KvDataType type) => type == KvDataType.Float32 ? 4 : 2;

    public static KvDataType Parse(string dtype, string file) => dtype switch
    {
        "float32" => KvDataType.Float32,
        "float16" => KvDataType.Float16,
        "bfloat16" => KvDataType.BFloat16,
        _ => throw new CondensaException($"{file}: field 'dtype' has unsupported value '{dtype}' (expected float32, float16 or bfloat16)."),
    };

    /// <summary>ONNX Runtime's element type of the KV tensors.</summary>
    public static Microsoft.ML.OnnxRuntime.Tensors.TensorElementType ElementType(this KvDataType type) => type switch
    {
        KvDataType.Float32 => Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float,
        KvDataType.Float16 => Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float16,
        _ => Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.BFloat16,
    };
}
