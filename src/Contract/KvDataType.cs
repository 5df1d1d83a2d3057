namespace Condensa;

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

/// <summary>condensa.json's dtype names and the element sizes of <see cref="KvDataType"/>.</summary>
public static class KvDataTypeExtensions
{
    /// <summary>Bytes of one element.</summary>
    public static int SizeInBytes(this KvDataType type) => type == KvDataType.Float32 ? 4 : 2;

    /// <summary>Parses condensa.json's <c>dtype</c>.</summary>
    /// <exception cref="CondensaException">Not float32, float16 or bfloat16; the message names <paramref name="file"/>.</exception>
    public static KvDataType Parse(string dtype, string file) => dtype switch
    {
        "float32" => KvDataType.Float32,
        "float16" => KvDataType.Float16,
        "bfloat16" => KvDataType.BFloat16,
        _ => throw new CondensaException($"{file}: field 'dtype' has unsupported value '{dtype}' (expected float32, float16 or bfloat16)."),
    };
}
