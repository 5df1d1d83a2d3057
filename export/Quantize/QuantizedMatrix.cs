namespace Condensa.Export;

/// <summary>
/// A weight W [N, K] (nn.Linear's [out, in]) in MatMulNBits layout:
/// <code>
///   Codes       uint8 [N, blocks, blob]    codes packed along K, low bits first (4 bits: k even -> low nibble)
///   Scales      float [N, blocks]
///   ZeroPoints  uint8 [N, ceil(blocks·bits/8)]  packed like the codes (4 bits: block even -> low nibble)
///   W[n, k] ≈ (code[n, k] - zero_point[n, k / block]) · scale[n, k / block]
/// </code>
/// The last block of a row is padded with zeros when K is not a multiple of the block size.
/// </summary>
/// <param name="N">Output features.</param>
/// <param name="K">Input features.</param>
/// <param name="Settings">Bits and block size.</param>
/// <param name="Codes">[N, blocks, blob].</param>
/// <param name="Scales">[N, blocks].</param>
/// <param name="ZeroPoints">[N, ceil(blocks·bits/8)].</param>
public sealed record QuantizedMatrix(int N, int K, WeightQuantization Settings, byte[] Codes, float[] Scales, byte[] ZeroPoints)
{
    /// <summary>Shape of <see cref="Codes"/>.</summary>
    public long[] CodesShape => [N, Settings.BlocksPerRow(K), Settings.BlobSize];

    /// <summary>Shape of <see cref="Scales"/>.</summary>
    public long[] ScalesShape => [N, Settings.BlocksPerRow(K)];

    /// <summary>Shape of <see cref="ZeroPoints"/>.</summary>
    public long[] ZeroPointsShape => [N, Settings.ZeroPointBytesPerRow(K)];

    /// <summary>Bytes a pass reads: codes, scales and zero points.</summary>
    public long ByteLength => Codes.LongLength + Scales.LongLength * sizeof(float) + ZeroPoints.LongLength;
}
