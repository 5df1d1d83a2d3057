using Condensa.TestSupport;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Condensa.Export.Tests;

/// <summary>The KV-edit graphs beside an export: a half-precision export also takes a float32 model's entries
/// (kv_write_from_float, for self-speculation drafted by it), a float32 one has nothing to take them from.</summary>
[TestClass]
public sealed class KvOpsExportTests
{
    private static readonly TinyModelSpec Spec = new() { Architecture = "llama", Seed = 31 };

    [TestMethod]
    [DataRow(ExportPrecision.Fp16, "kv_write_from_float.onnx")]
    [DataRow(ExportPrecision.Bf16, "kv_write_from_float.onnx")]
    [DataRow(ExportPrecision.Fp32, null)]
    [DataRow(ExportPrecision.Int8, null)]
    public void Export_HalfPrecisionKv_NamesAGraphThatCastsFloatEntries(ExportPrecision precision, string? expected)
    {
        var export = TinyExports.Get("kv-ops", Spec, precision).Export;
        var manifest = ModelManifest.Load(export);
        Assert.AreEqual(expected, manifest.KvOps!.WriteFromFloat);
        if (expected is null)
        {
            Assert.IsFalse(File.Exists(Path.Combine(export, KvOpsGraphs.WriteFromFloatFileName)));
            return;
        }
        using var session = new InferenceSession(Path.Combine(export, expected));
        var tensors = 2 * manifest.KvLayers.Length;
        for (var i = 0; i < tensors; i++)
        {
            Assert.AreEqual(TensorElementType.Float, session.InputMetadata[KvOpsNames.WriteSource(i)].ElementDataType, $"source.{i}");
            var cacheType = precision == ExportPrecision.Fp16 ? TensorElementType.Float16 : TensorElementType.BFloat16;
            Assert.AreEqual(cacheType, session.InputMetadata[KvOpsNames.WriteCache(i)].ElementDataType, $"cache.{i}");
            Assert.AreEqual(cacheType, session.OutputMetadata[KvOpsNames.WriteUpdated(i)].ElementDataType, $"updated.{i}");
        }
    }
}
