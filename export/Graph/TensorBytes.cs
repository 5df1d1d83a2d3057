using System.Runtime.InteropServices;
using Condensa.Export.Onnx;

namespace Condensa.Export;

/// <summary>Raw-data encodings of float tensors and the weight transposition MatMul needs.</summary>
internal static class TensorBytes
{
    /// <summary>Encodes float32 values as FLOAT, FLOAT16 or BFLOAT16 raw data.</summary>
    public static byte[] Encode(ReadOnlySpan<float> values, TensorProto.Types.DataType type)
    {
        switch (type)
        {
            case TensorProto.Types.DataType.Float:
                return MemoryMarshal.AsBytes(values).ToArray();
            case TensorProto.Types.DataType.Float16:
                var bytes = new byte[values.Length * 2];
                var halves = MemoryMarshal.Cast<byte, Half>(bytes.AsSpan());
                for (int i = 0; i < values.Length; i++) halves[i] = (Half)values[i];
                return bytes;
            case TensorProto.Types.DataType.Bfloat16:
                var bf16 = new byte[values.Length * 2];
                var bits = MemoryMarshal.Cast<byte, ushort>(bf16.AsSpan());
                for (int i = 0; i < values.Length; i++) bits[i] = SafeTensorDtypes.ToBFloat16Bits(values[i]);
                return bf16;
            default:
                throw new ArgumentOutOfRangeException(nameof(type), type, "only FLOAT, FLOAT16 and BFLOAT16 weights are written");
        }
    }

    /// <summary>
    /// Writes float32 values as FLOAT, FLOAT16 or BFLOAT16 raw data, in chunks, so a tensor of more than 2 GB never
    /// needs one byte array.
    /// </summary>
    public static void Write(Stream stream, float[] values, TensorProto.Types.DataType type)
    {
        const int chunk = 1 << 24;
        for (long start = 0; start < values.LongLength; start += chunk)
        {
            int n = (int)Math.Min(chunk, values.LongLength - start);
            stream.Write(Encode(values.AsSpan((int)start, n), type));
        }
    }

    /// <summary>Transposes a row-major [rows, cols] matrix to [cols, rows].</summary>
    public static float[] Transpose(float[] m, int rows, int cols)
    {
        var t = new float[m.Length];
        for (int r = 0; r < rows; r++)
        {
            int src = r * cols;
            for (int c = 0; c < cols; c++) t[c * rows + r] = m[src + c];
        }
        return t;
    }

    /// <summary>The byte size of one element of <paramref name="type"/>.</summary>
    public static int ElementSize(TensorProto.Types.DataType type) => type switch
    {
        TensorProto.Types.DataType.Float or TensorProto.Types.DataType.Int32 => 4,
        TensorProto.Types.DataType.Float16 or TensorProto.Types.DataType.Bfloat16 => 2,
        TensorProto.Types.DataType.Int64 => 8,
        TensorProto.Types.DataType.Bool or TensorProto.Types.DataType.Uint8 => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };
}
