using Condensa.Export.Onnx;

namespace Condensa.Export;

/// <summary>The initializer names of one quantized weight (see <see cref="QuantizedMatrix"/> for the layout) and the
/// settings it was quantized with (bits may differ between the weights of one export).</summary>
internal sealed record QuantizedWeightNames(string Codes, string Scales, string ZeroPoints, int K, int N, WeightQuantization Settings);

/// <summary>
/// com.microsoft MatMulNBits: y [.., N] = x [.., K] @ dequant(W)ᵀ with W stored [N, K] block-quantized, so the
/// checkpoint's nn.Linear layout needs no transpose.
/// </summary>
internal static class MatMulNBits
{
    /// <summary>Adds the node on x [.., K]; returns y [.., N], named <paramref name="outputName"/> when given.</summary>
    public static string Add(GraphBuilder b, string x, QuantizedWeightNames w, string? outputName = null) =>
        b.NodeN("MatMulNBits", "MatMulNBits", [x, w.Codes, w.Scales, w.ZeroPoints], 1,
        [
            Attr.Int("K", w.K), Attr.Int("N", w.N), Attr.Int("bits", w.Settings.Bits),
            Attr.Int("block_size", w.Settings.BlockSize), Attr.Int("accuracy_level", w.Settings.AccuracyLevel),
        ], outputName is null ? null : [outputName], ContribOps.Domain)[0];

    /// <summary>
    /// Registers the three initializers of <paramref name="name"/>, a [N, K] weight produced by <paramref name="quantize"/>,
    /// its scales in <paramref name="scaleType"/> (MatMulNBits wants them in its activations' type). The weight is read
    /// and quantized once, when the writer reaches the first of the three, and dropped after the last.
    /// </summary>
    public static QuantizedWeightNames AddInitializers(GraphBuilder b, string name, int k, int n, WeightQuantization settings,
        Func<QuantizedMatrix> quantize, TensorProto.Types.DataType scaleType = TensorProto.Types.DataType.Float)
    {
        var shared = new SharedQuantization(quantize, consumers: 3);
        var u8 = TensorProto.Types.DataType.Uint8;
        int blocks = settings.BlocksPerRow(k);
        string codes = b.AddInitializer($"{name}.q{settings.Bits}", u8, [n, blocks, settings.BlobSize], s => s.Write(shared.Take().Codes));
        string scales = b.AddInitializer($"{name}.scales", scaleType, [n, blocks],
            s => TensorBytes.Write(s, shared.Take().Scales, scaleType));
        string zeroPoints = b.AddInitializer($"{name}.zero_points", u8, [n, settings.ZeroPointBytesPerRow(k)], s => s.Write(shared.Take().ZeroPoints));
        return new QuantizedWeightNames(codes, scales, zeroPoints, k, n, settings);
    }

    // Quantizes on first use and forgets the result after the last consumer, so a large model's quantized weights
    // pass through memory one matrix at a time like its float weights.
    private sealed class SharedQuantization(Func<QuantizedMatrix> make, int consumers)
    {
        private QuantizedMatrix? _value;
        private int _left = consumers;

        public QuantizedMatrix Take()
        {
            var value = _value ??= make();
            if (--_left == 0) _value = null;
            return value;
        }
    }
}
