using Condensa.Export.Onnx;
using Condensa.TestSupport;

namespace Condensa.Export.Tests;

/// <summary>int4 / int8 exports: MatMulNBits in place of every linear layer, logits near the float reference, and on the
/// trained demo model the same greedy tokens as fp32.</summary>
[TestClass]
public sealed class QuantizedExportTests
{
    private static readonly int[] Prompt = [1, 17, 250, 3, 99, 42, 7, 300, 128, 64, 5, 211];

    [TestMethod]
    [DataRow(ExportPrecision.Int4, false)]
    [DataRow(ExportPrecision.Int8, false)]
    [DataRow(ExportPrecision.Int4, true)]
    public void Export_Quantized_EveryLinearIsMatMulNBitsAndManifestSaysSo(ExportPrecision precision, bool tied)
    {
        using var tmp = new TempDir();
        var spec = new TinyModelSpec { TieWordEmbeddings = tied, Seed = 21 };
        TinyCheckpoint.Write(tmp.Sub("ckpt"), spec);

        var result = CheckpointExporter.Export(tmp.Sub("ckpt"), tmp.Sub("out"), new ExportOptions { Precision = precision });

        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(result.ModelPath));
        var nbits = model.Graph.Node.Where(n => n.OpType == "MatMulNBits").ToList();
        // q, k and v share one MatMulNBits where they share bits (int8; the default int4 mix keeps k and v at 8 bits),
        // gate and up always do
        int perLayer = precision == ExportPrecision.Int8 ? 4 : 6;
        Assert.HasCount(spec.NumLayers * perLayer + 1, nbits, "qkv (or q, k, v), o, gate_up, down per layer, and lm_head");
        Assert.IsTrue(nbits.All(n => n.Domain == "com.microsoft"));
        int bits = precision == ExportPrecision.Int4 ? 4 : 8;
        Assert.AreEqual(bits, nbits.Min(Bits), "the default int4 mix keeps only some weights at 8 bits");
        Assert.AreEqual(1, model.OpsetImport.Single(o => o.Domain == "com.microsoft").Version);
        var weights = model.Graph.Initializer.Select(i => i.Name).ToHashSet();
        Assert.IsFalse(model.Graph.Node.Any(n => n.OpType == "MatMul" && n.Input.Any(weights.Contains)), "no float weight left in a MatMul");
        Assert.AreEqual("float32", result.Manifest.DType, "KV and activations stay float32");
        Assert.AreEqual(new ManifestQuantization(bits, 32, ExportOptions.Int8Activations, true, bits == 4 ? "kv-head" : null),
            result.Manifest.WeightQuantization);
    }

    [TestMethod]
    [DataRow(Int4Mix.None, false, "")]
    [DataRow(Int4Mix.Kv, false, "k_proj v_proj")]
    [DataRow(Int4Mix.KvHead, false, "k_proj v_proj lm_head")]
    [DataRow(Int4Mix.KvHead, true, "k_proj v_proj lm_head")]   // tied: the quantized copy of the embedding table
    public void Export_Int4Mix_EightBitsExactlyForTheMixesWeights(Int4Mix mix, bool tied, string eightBit)
    {
        using var tmp = new TempDir();
        var spec = new TinyModelSpec { TieWordEmbeddings = tied, Seed = 9 };
        TinyCheckpoint.Write(tmp.Sub("ckpt"), spec);
        var options = new ExportOptions { Precision = ExportPrecision.Int4, Quantization = ExportOptions.DefaultQuantization(ExportPrecision.Int4)! with { Mix = mix } };

        var result = CheckpointExporter.Export(tmp.Sub("ckpt"), tmp.Sub("out"), options);

        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(result.ModelPath));
        var initializers = model.Graph.Initializer.ToDictionary(i => i.Name);
        string[] raised = eightBit.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var nbits = model.Graph.Node.Where(n => n.OpType == "MatMulNBits").ToList();
        foreach (var node in nbits)
        {
            string codes = node.Input[1];                                              // e.g. model.layers.0.self_attn.k_proj.weight.q8
            int bits = raised.Any(codes.Contains) ? 8 : 4;
            Assert.AreEqual(bits, Bits(node), codes);
            StringAssert.EndsWith(codes, $".q{bits}");
            Assert.AreEqual(32 * bits / 8, initializers[codes].Dims[2], $"{codes}: bytes per block of 32");
        }
        int perLayer = raised.Count(r => r.EndsWith("_proj", StringComparison.Ordinal));
        Assert.AreEqual(spec.NumLayers * perLayer + (raised.Contains("lm_head") ? 1 : 0), nbits.Count(n => Bits(n) == 8));
        Assert.AreEqual(Int4Mixes.Name(mix), result.Manifest.WeightQuantization!.Int4Mix);
    }

    [TestMethod]
    public void Export_Int8WithInt4Mix_Throws()
    {
        using var tmp = new TempDir();
        TinyCheckpoint.Write(tmp.Sub("ckpt"), new TinyModelSpec());

        var e = Assert.ThrowsExactly<ArgumentException>(() => CheckpointExporter.Export(tmp.Sub("ckpt"), tmp.Sub("out"),
            new ExportOptions { Precision = ExportPrecision.Int8, Quantization = new WeightQuantization(8, Mix: Int4Mix.Kv) }));
        StringAssert.Contains(e.Message, "int4 mix 'kv' needs 4 bits");
    }

    [TestMethod]
    [DataRow(ExportPrecision.Int8, 0, 0.02, false)]
    [DataRow(ExportPrecision.Int8, 4, 0.03, false)]
    [DataRow(ExportPrecision.Int4, 0, 0.2, false)]
    [DataRow(ExportPrecision.Int4, 0, 0.2, true)]    // float16 activations, KV and scales: the GPU layout
    [DataRow(ExportPrecision.Int8, 0, 0.03, true)]
    public void Export_Quantized_LogitsNearFloatReference(ExportPrecision precision, int accuracyLevel, double tolerance, bool halfActivations)
    {
        using var tmp = new TempDir();
        var spec = new TinyModelSpec { Architecture = "qwen2", TieWordEmbeddings = true, Seed = 5 };   // biases and a tied head
        TinyCheckpoint.Write(tmp.Sub("ckpt"), spec);
        var options = new ExportOptions
        {
            Precision = precision,
            Quantization = ExportOptions.DefaultQuantization(precision)! with { AccuracyLevel = accuracyLevel },
            HalfActivations = halfActivations,
        };
        var export = CheckpointExporter.Export(tmp.Sub("ckpt"), tmp.Sub("out"), options);
        Assert.AreEqual(halfActivations ? "float16" : "float32", export.Manifest.DType);
        var graph = ModelProto.Parser.ParseFrom(File.ReadAllBytes(export.ModelPath));
        var scaleType = halfActivations ? TensorProto.Types.DataType.Float16 : TensorProto.Types.DataType.Float;
        Assert.IsTrue(graph.Graph.Initializer.Where(t => t.Name.EndsWith(".scales", StringComparison.Ordinal)).All(t => t.DataType == (int)scaleType),
            "MatMulNBits scales in the activations' type");
        var reference = new ReferenceModel(tmp.Sub("ckpt"));
        using var runner = new OnnxGraphRunner(export.ModelPath);

        var outputs = new DecoderHarness(runner, reference.Config)
            .Step([Prompt], [Enumerable.Range(0, Prompt.Length).ToArray()], capacity: 1, pastLen: [0]);

        var actual = Enumerable.Range(0, Prompt.Length).Select(i => DecoderHarness.LogitsAt(outputs[GraphNames.Logits], 0, i)).ToList();
        double error = DecoderHarness.RelativeError(actual, reference.Logits(Prompt));
        Assert.IsLessThan(tolerance, error, $"{precision}: relative error {error:E2}");
        Assert.IsGreaterThan(tolerance / 100, error, "quantization must change the logits a little (else the test checks float weights)");
    }

    [TestMethod]
    public void Export_QuantizationWithFloatPrecision_Throws()
    {
        using var tmp = new TempDir();
        TinyCheckpoint.Write(tmp.Sub("ckpt"), new TinyModelSpec());

        var e = Assert.ThrowsExactly<ArgumentException>(() => CheckpointExporter.Export(tmp.Sub("ckpt"), tmp.Sub("out"),
            new ExportOptions { Precision = ExportPrecision.Fp32, Quantization = new WeightQuantization(4) }));
        StringAssert.Contains(e.Message, "int4 or int8");
    }

    private static long Bits(NodeProto node) => node.Attribute.Single(a => a.Name == "bits").I;
}
