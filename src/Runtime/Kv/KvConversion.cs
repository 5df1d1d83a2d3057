using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace Condensa.Runtime.Kv;

/// <summary>
/// Copies between caches whose entries differ in type: a float32 model's entries into the self-speculation budget of a
/// half-precision export of the same checkpoint, which drafts for it (docs/ARCHITECTURE.md, "Self-speculation at another
/// precision"). Only that direction converts: a draft may round, the cache that verifies may not.
/// </summary>
public static class KvConversion
{
    /// <summary>Whether entries of <paramref name="source"/> type may be copied into a cache of <paramref name="destination"/>
    /// type: the same type, or float32 into float16 or bfloat16.</summary>
    public static bool Converts(KvDataType source, KvDataType destination) =>
        source == destination || source == KvDataType.Float32 && destination is KvDataType.Float16 or KvDataType.BFloat16;

    /// <summary>Throws unless <see cref="Converts"/> allows the copy.</summary>
    internal static void Check(KvDataType source, KvDataType destination)
    {
        if (!Converts(source, destination))
            throw new CondensaException($"KV entries of type {source} cannot be copied into a cache of {destination}: only a float32 cache's " +
                "entries convert, into a float16 or bfloat16 one (a half-precision export drafting for a float32 one).");
    }

    /// <summary>Writes <paramref name="source"/> (float32 elements) into <paramref name="destination"/> as
    /// <paramref name="type"/> (float16, or bfloat16 rounded to nearest even, as ONNX Runtime's Cast does).</summary>
    internal static void FromFloat(ReadOnlySpan<float> source, Span<byte> destination, KvDataType type)
    {
        if (type == KvDataType.Float16)
        {
            TensorPrimitives.ConvertToHalf(source, MemoryMarshal.Cast<byte, Half>(destination));
            return;
        }
        var to = MemoryMarshal.Cast<byte, ushort>(destination);
        for (var i = 0; i < source.Length; i++) to[i] = ToBFloat16(source[i]);
    }

    private static ushort ToBFloat16(float value)
    {
        var bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value)) return (ushort)((bits >> 16) | 0x40);   // a quiet NaN, whatever the low bits held
        return (ushort)((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
    }
}
