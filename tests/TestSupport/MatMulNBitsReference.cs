namespace Condensa.TestSupport;

/// <summary>
/// An independent reading of the com.microsoft MatMulNBits weight layout (ONNX Runtime's ContribOperators.md):
/// B uint8 [N, blocks, blob] with codes packed along K low bits first, scales [N, blocks], zero points uint8
/// [N, ceil(blocks·bits/8)] packed the same way; W[n, k] = (code - zero_point) · scale. Tests compare exports
/// and ONNX Runtime against it.
/// </summary>
public static class MatMulNBitsReference
{
    /// <summary>Dequantizes to W [N, K], row-major.</summary>
    public static float[] Dequantize(byte[] codes, float[] scales, byte[] zeroPoints, int n, int k, int bits, int blockSize)
    {
        int blocks = (k + blockSize - 1) / blockSize, blob = blockSize * bits / 8, zpRow = (blocks * bits + 7) / 8;
        var w = new float[n * k];
        for (int row = 0; row < n; row++)
            for (int col = 0; col < k; col++)
            {
                int block = col / blockSize, within = col % blockSize;
                int code = Field(codes, (row * blocks + block) * blob, within, bits);
                int zp = Field(zeroPoints, row * zpRow, block, bits);
                w[row * k + col] = (code - zp) * scales[row * blocks + block];
            }
        return w;
    }

    /// <summary>y [M, N] = a [M, K] @ wᵀ, w [N, K], in double.</summary>
    public static double[] MatMulTransposed(float[] a, float[] w, int m, int n, int k)
    {
        var y = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double sum = 0;
                for (int t = 0; t < k; t++) sum += (double)a[i * k + t] * w[j * k + t];
                y[i * n + j] = sum;
            }
        return y;
    }

    // The index-th field of `bits` bits in a byte run starting at `start`, the first field in the lowest bits.
    private static int Field(byte[] bytes, int start, int index, int bits)
    {
        int bit = index * bits;
        return (bytes[start + bit / 8] >> (bit % 8)) & ((1 << bits) - 1);
    }
}
