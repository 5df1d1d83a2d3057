using System.Buffers.Binary;
using System.Text.Json;

namespace Condensa.Export;

/// <summary>
/// Writes a random-weight Hugging Face checkpoint (config.json + model.safetensors, and a byte-level tokenizer where
/// the vocabulary holds one: <see cref="RandomTokenizer"/>) of a <see cref="ModelShape"/>,
/// streamed a chunk at a time so a 1B-parameter model never sits in memory. Linear weights are uniform with standard
/// deviation 1/sqrt(fan_in) (activations stay at unit scale), embeddings uniform with standard deviation 1, norm
/// weights 1. The same seed writes the same bytes.
/// </summary>
public static class RandomCheckpointWriter
{
    private const int ChunkElements = 1 << 20;

    /// <summary>Writes the checkpoint into <paramref name="dir"/> (created if needed) and returns its size in bytes.</summary>
    /// <exception cref="ArgumentException"><paramref name="dtype"/> is not F16, BF16 or F32.</exception>
    public static long Write(string dir, ModelShape shape, int seed, SafeTensorDtype dtype = SafeTensorDtype.F16)
    {
        ArgumentNullException.ThrowIfNull(shape);
        string torchDtype = dtype switch
        {
            SafeTensorDtype.F16 => "float16", SafeTensorDtype.BF16 => "bfloat16", SafeTensorDtype.F32 => "float32",
            _ => throw new ArgumentException($"dtype {dtype} is not F16, BF16 or F32.", nameof(dtype)),
        };
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "config.json"), shape.Config(torchDtype).ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        RandomTokenizer.Write(dir, shape);
        var tensors = shape.Tensors();
        int elementSize = SafeTensorDtypes.ByteSize(dtype);

        // 1) header: the layout of every tensor, padded to 8 bytes like the reference writer
        var header = new Dictionary<string, object> { ["__metadata__"] = new Dictionary<string, string> { ["format"] = "pt" } };
        long offset = 0;
        foreach (var (name, dims, _) in tensors)
        {
            long length = dims.Aggregate(1L, (a, b) => a * b) * elementSize;
            header[name] = new { dtype = SafeTensorDtypes.Name(dtype), shape = dims, data_offsets = new[] { offset, offset + length } };
            offset += length;
        }
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(header);
        int padded = (json.Length + 7) / 8 * 8;
        string path = Path.Combine(dir, SafeTensorsReader.SingleFileName);
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        Span<byte> lengthBytes = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(lengthBytes, padded);
        stream.Write(lengthBytes);
        stream.Write(json);
        for (int i = json.Length; i < padded; i++) stream.WriteByte((byte)' ');

        // 2) data, a chunk at a time; each tensor has its own generator so the values do not depend on chunking
        var values = new float[ChunkElements];
        var bytes = new byte[ChunkElements * elementSize];
        for (int t = 0; t < tensors.Count; t++)
        {
            var (_, dims, fanIn) = tensors[t];
            var random = new Random(unchecked(seed * 1_000_003 + t));   // not HashCode: it is salted per process
            float half = fanIn == 0 ? 0f : MathF.Sqrt(3f / fanIn);   // uniform(-a, a) has std a / sqrt(3)
            long count = dims.Aggregate(1L, (a, b) => a * b);
            for (long done = 0; done < count; done += ChunkElements)
            {
                int n = (int)Math.Min(ChunkElements, count - done);
                var chunk = values.AsSpan(0, n);
                if (fanIn == 0) chunk.Fill(1f);
                else for (int i = 0; i < n; i++) chunk[i] = (random.NextSingle() * 2f - 1f) * half;
                SafeTensorDtypes.FromFloat32(dtype, chunk, bytes.AsSpan(0, n * elementSize));
                stream.Write(bytes, 0, n * elementSize);
            }
        }
        return stream.Position;
    }
}
