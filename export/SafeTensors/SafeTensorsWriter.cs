using System.Buffers.Binary;
using System.Text.Json;

namespace Condensa.Export;

/// <summary>A float32 tensor to be stored as <see cref="Dtype"/> in a safetensors file.</summary>
/// <param name="Name">Tensor name.</param>
/// <param name="Dtype">Element type on disk.</param>
/// <param name="Shape">Dimensions; their product must equal <c>Data.Length</c>.</param>
/// <param name="Data">Values in row-major order.</param>
public sealed record SafeTensor(string Name, SafeTensorDtype Dtype, long[] Shape, float[] Data);

/// <summary>Writes safetensors files (used by tests and by random-weight checkpoint generators).</summary>
public static class SafeTensorsWriter
{
    /// <summary>Writes <paramref name="tensors"/> to <paramref name="path"/> in the given order.</summary>
    /// <exception cref="ArgumentException">A tensor's shape does not match its data length.</exception>
    public static void Write(string path, IReadOnlyList<SafeTensor> tensors)
    {
        // 1) header: offsets are relative to the end of the header, which is padded to 8 bytes as the
        //    reference implementation does, so the data stays aligned.
        var header = new Dictionary<string, object> { ["__metadata__"] = new Dictionary<string, string> { ["format"] = "pt" } };
        long offset = 0;
        foreach (var t in tensors)
        {
            long count = t.Shape.Aggregate(1L, (a, b) => a * b);
            if (count != t.Data.Length)
                throw new ArgumentException($"Tensor '{t.Name}': shape [{string.Join(", ", t.Shape)}] has {count} elements, data has {t.Data.Length}.", nameof(tensors));
            long length = count * SafeTensorDtypes.ByteSize(t.Dtype);
            header[t.Name] = new { dtype = SafeTensorDtypes.Name(t.Dtype), shape = t.Shape, data_offsets = new[] { offset, offset + length } };
            offset += length;
        }
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(header);
        int padded = (json.Length + 7) / 8 * 8;

        // 2) length, header, data
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write);
        Span<byte> lengthBytes = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(lengthBytes, padded);
        stream.Write(lengthBytes);
        stream.Write(json);
        for (int i = json.Length; i < padded; i++) stream.WriteByte((byte)' ');
        foreach (var t in tensors)
        {
            var bytes = new byte[t.Data.Length * SafeTensorDtypes.ByteSize(t.Dtype)];
            SafeTensorDtypes.FromFloat32(t.Dtype, t.Data, bytes);
            stream.Write(bytes);
        }
    }
}
