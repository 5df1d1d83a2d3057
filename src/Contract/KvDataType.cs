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

/// <summary>Element sizes of <see cref="KvDataType"/>.</summary>
public static class KvDataTypeExtensions
{
    /// <summary>Bytes of one element.</summary>
    public static int SizeInBytes(this KvDataType type) => type == KvDataType.Float32 ? 4 : 2;
}
