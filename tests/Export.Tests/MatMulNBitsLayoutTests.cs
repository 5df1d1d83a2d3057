using Condensa.Export.Onnx;
using Condensa.TestSupport;

namespace Condensa.Export.Tests;

/// <summary>
/// ONNX Runtime's MatMulNBits on our quantized weights equals A @ dequant(W)ᵀ with the independent C# dequantizer
/// (<see cref="MatMulNBitsReference"/>): the packing, scale and zero-point layouts are what the CPU kernels read.
/// </summary>
[TestClass]
public sealed class MatMulNBitsLayoutTests
{
    [TestMethod]
    [DataRow(4, 32, 64, 48, 0)]
    [DataRow(4, 16, 80, 33, 0)]
    [DataRow(4, 32, 40, 24, 0)]    // K = 40: a padded last block
    [DataRow(8, 32, 64, 48, 0)]
    [DataRow(8, 16, 48, 17, 0)]
    [DataRow(4, 32, 128, 64, 4)]   // int8 activations: the product is approximate
    [DataRow(8, 32, 128, 64, 4)]
    public void MatMulNBits_RandomWeights_EqualsProductWithReferenceDequantization(int bits, int blockSize, int k, int n, int accuracyLevel)
    {
        const int batch = 2, seq = 3;
        var settings = new WeightQuantization(bits, blockSize, accuracyLevel);
        var w = BlockQuantizerTests.Random(n * k, seed: 7 * k + n);
        var a = BlockQuantizerTests.Random(batch * seq * k, seed: 11 * k + bits);
        var q = BlockQuantizer.Quantize(w, n, k, settings);
        var expected = MatMulNBitsReference.MatMulTransposed(a, MatMulNBitsReference.Dequantize(q.Codes, q.Scales, q.ZeroPoints, n, k, bits, blockSize),
            batch * seq, n, k);

        var y = RunSingleNode(q, a, batch, seq);

        double maxRef = expected.Max(Math.Abs), maxDiff = expected.Select((e, i) => Math.Abs(e - y[i])).Max();
        double tolerance = accuracyLevel == 4 ? 2e-2 : 1e-5;
        Assert.IsTrue(maxDiff / maxRef < tolerance, $"max |diff| / max |ref| = {maxDiff / maxRef:E2} (tolerance {tolerance:E0})");
    }

    [TestMethod]
    public void MatMulNBits_SwappedNibbles_Differ()
    {
        // Guards the test above against passing for any layout: swapping the nibbles of the codes must change the product.
        const int k = 64, n = 16;
        var settings = new WeightQuantization(4, 32);
        var q = BlockQuantizer.Quantize(BlockQuantizerTests.Random(n * k, 3), n, k, settings);
        var a = BlockQuantizerTests.Random(k, 4);
        var swapped = q with { Codes = [.. q.Codes.Select(c => (byte)(c >> 4 | (c & 0xF) << 4))] };
        var expected = MatMulNBitsReference.MatMulTransposed(a, MatMulNBitsReference.Dequantize(q.Codes, q.Scales, q.ZeroPoints, n, k, 4, 32), 1, n, k);

        var y = RunSingleNode(swapped, a, 1, 1);

        Assert.IsTrue(expected.Select((e, i) => Math.Abs(e - y[i])).Max() > 1e-2);
    }

    // One MatMulNBits node with our initializers, written and run like an exported graph.
    private static float[] RunSingleNode(QuantizedMatrix q, float[] a, int batch, int seq)
    {
        using var tmp = new TempDir();
        var b = new GraphBuilder();
        string x = b.Input("a", TensorProto.Types.DataType.Float, batch, seq, q.K);
        var names = MatMulNBits.AddInitializers(b, "w", q.K, q.N, q.Settings, () => q);
        MatMulNBits.Add(b, x, names, "y");
        b.Output("y", TensorProto.Types.DataType.Float, batch, seq, q.N);
        string path = Path.Combine(tmp.Path, "m.onnx");
        OnnxWriter.Write(b, path, "m.onnx.data", "matmulnbits");
        using var runner = new OnnxGraphRunner(path);
        return runner.Run(new Dictionary<string, GraphTensor> { ["a"] = GraphTensor.Of(a, batch, seq, q.K) })["y"].F;
    }
}
