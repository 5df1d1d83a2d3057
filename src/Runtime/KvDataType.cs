namespace Condensa.Runtime;

/// <summary>Element type of the KV buffers, the same as the graph's model dtype.</summary>
public enum KvDataType
{
    /// <summary>32-bit IEEE float.</summary>
    Float32,
    /// <summary>16-bit IEEE float.</summary>
    Float16,
}

internal static class KvDataTypeExtensions
{
    public static int SizeInBytes(this KvDataType type) => type == KvDataType.Float32 ? 4 : 2;

    public static KvDataType Parse(string dtype, string file) => dtype switch
    {
        "float32" => KvDataType.Float32,
        "float16" => KvDataType.Float16,
        _ => throw new CondensaException($"{file}: field 'dtype' has unsupported value '{dtype}' (expected float32 or float16)."),
    };
}
