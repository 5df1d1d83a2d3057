namespace Condensa.Export;

/// <summary>The safetensors element types the exporter reads and writes.</summary>
public enum SafeTensorDtype
{
    /// <summary>IEEE float32 ("F32").</summary>
    F32,
    /// <summary>IEEE float16 ("F16").</summary>
    F16,
    /// <summary>bfloat16 ("BF16"): the top 16 bits of a float32.</summary>
    BF16,
}

/// <summary>Conversions between safetensors element types and float32.</summary>
internal static class SafeTensorDtypes
{
    public static int ByteSize(SafeTensorDtype dtype) => dtype == SafeTensorDtype.F32 ? 4 : 2;

    public static string Name(SafeTensorDtype dtype) => dtype.ToString();

    public static bool TryParse(string name, out SafeTensorDtype dtype)
    {
        switch (name)
        {
            case "F32": dtype = SafeTensorDtype.F32; return true;
            case "F16": dtype = SafeTensorDtype.F16; return true;
            case "BF16": dtype = SafeTensorDtype.BF16; return true;
            default: dtype = default; return false;
        }
    }

    /// <summary>Decodes little-endian elements of <paramref name="dtype"/> into float32.</summary>
    public static void ToFloat32(SafeTensorDtype dtype, ReadOnlySpan<byte> src, Span<float> dst)
    {
        switch (dtype)
        {
            case SafeTensorDtype.F32:
                src.CopyTo(System.Runtime.InteropServices.MemoryMarshal.AsBytes(dst));
                break;
            case SafeTensorDtype.F16:
                var halves = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, Half>(src);
                for (int i = 0; i < dst.Length; i++) dst[i] = (float)halves[i];
                break;
            case SafeTensorDtype.BF16:
                var bits = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(src);
                for (int i = 0; i < dst.Length; i++) dst[i] = BitConverter.Int32BitsToSingle(bits[i] << 16);
                break;
        }
    }

    /// <summary>Encodes float32 values as little-endian elements of <paramref name="dtype"/>.</summary>
    public static void FromFloat32(SafeTensorDtype dtype, ReadOnlySpan<float> src, Span<byte> dst)
    {
        switch (dtype)
        {
            case SafeTensorDtype.F32:
                System.Runtime.InteropServices.MemoryMarshal.AsBytes(src).CopyTo(dst);
                break;
            case SafeTensorDtype.F16:
                var halves = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, Half>(dst);
                for (int i = 0; i < src.Length; i++) halves[i] = (Half)src[i];
                break;
            case SafeTensorDtype.BF16:
                var bits = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(dst);
                for (int i = 0; i < src.Length; i++) bits[i] = ToBFloat16Bits(src[i]);
                break;
        }
    }

    // Round to nearest even, as torch's float -> bfloat16 conversion does (NaN stays NaN).
    internal static ushort ToBFloat16Bits(float value)
    {
        uint u = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value)) return 0x7FC0;
        uint rounding = 0x7FFF + ((u >> 16) & 1);
        return (ushort)((u + rounding) >> 16);
    }
}
