using Condensa.Export.Onnx;

namespace Condensa.Export;

/// <summary>
/// A graph initializer whose bytes are produced only when the writer streams it out, so a large model's
/// weights pass through memory one tensor at a time.
/// </summary>
/// <param name="Name">Initializer name (also the value name nodes consume).</param>
/// <param name="DataType">ONNX element type.</param>
/// <param name="Dims">Shape.</param>
/// <param name="Produce">Writes the little-endian raw data (exactly dims × element size bytes) to a stream.</param>
internal sealed record Initializer(string Name, TensorProto.Types.DataType DataType, long[] Dims, Action<Stream> Produce)
{
    /// <summary>Byte size of the raw data.</summary>
    public long ByteLength => Dims.Aggregate(1L, (a, b) => a * b) * TensorBytes.ElementSize(DataType);
}
