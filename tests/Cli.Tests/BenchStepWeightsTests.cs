using Condensa.Cli.Bench;
using Condensa.Export;
using Condensa.Runtime;
using Condensa.TestSupport;

namespace Condensa.Cli.Tests;

/// <summary><see cref="StepWeights"/> on tiny exports: the embedding table and the rotary caches are gathered, unless the
/// table is also the lm_head.</summary>
[TestClass]
public sealed class BenchStepWeightsTests
{
    private static readonly TinyModelSpec Untied = new() { Architecture = "llama", Seed = 11 };
    private static readonly TinyModelSpec Tied = Untied with { TieWordEmbeddings = true };

    [TestMethod]
    [DataRow(ExportPrecision.Fp32, 4)]
    [DataRow(ExportPrecision.Fp16, 2)]
    public void Read_UntiedExport_EmbeddingTableGatheredOnly(ExportPrecision precision, int bytes)
    {
        var weights = Read("bench-untied", Untied, precision);

        Assert.AreEqual((long)Untied.VocabSize * Untied.HiddenSize * bytes + RotaryCaches(Untied, bytes), weights.GatheredBytes);
        Assert.IsGreaterThan((long)Untied.VocabSize * Untied.HiddenSize * bytes, weights.StreamedBytes, "the lm_head alone is that large");
    }

    [TestMethod]
    public void Read_TiedExport_TableIsTheLmHeadSoStreamed()
    {
        var untied = Read("bench-untied", Untied, ExportPrecision.Fp32);
        var tied = Read("bench-tied", Tied, ExportPrecision.Fp32);

        Assert.AreEqual(RotaryCaches(Tied, 4), tied.GatheredBytes);
        // untied: lm_head [V, H] streamed and the table gathered; tied: the table streamed once as the lm_head
        Assert.AreEqual(untied.StreamedBytes, tied.StreamedBytes);
    }

    [TestMethod]
    public void Read_TiedInt4Export_FloatTableGatheredAndItsQuantizedCopyStreamed()
    {
        var fp32 = Read("bench-tied", Tied, ExportPrecision.Fp32);
        var int4 = Read("bench-tied", Tied, ExportPrecision.Int4);

        Assert.AreEqual((long)Tied.VocabSize * Tied.HiddenSize * 4 + RotaryCaches(Tied, 4), int4.GatheredBytes);
        Assert.IsLessThan(fp32.StreamedBytes / 3, int4.StreamedBytes, "0.64 B per quantized weight instead of 4");
    }

    [TestMethod]
    public void Read_AnyExport_NoMoreThanTheGraphFiles()
    {
        var (_, export) = TinyExports.Get("bench-untied", Untied);
        var weights = StepWeights.Of(export, ModelManifest.Load(export));
        var files = new FileInfo(Path.Combine(export, CheckpointExporter.ModelFileName)).Length
            + new FileInfo(Path.Combine(export, CheckpointExporter.DataFileName)).Length;

        Assert.IsLessThanOrEqualTo(files, weights.StreamedBytes + weights.GatheredBytes);
        Assert.IsGreaterThan(files / 2, weights.StreamedBytes + weights.GatheredBytes, "the weights are most of the files");
    }

    // cos and sin, [max positions + padding rows, D/2] each, read one row per token
    private static long RotaryCaches(TinyModelSpec spec, int bytes) =>
        2L * (spec.MaxPositionEmbeddings + RopeSettings.PaddingRows) * (spec.HeadDim / 2) * bytes;

    private static StepWeights Read(string key, TinyModelSpec spec, ExportPrecision precision)
    {
        var (_, export) = TinyExports.Get(key, spec, precision);
        return StepWeights.Of(export, ModelManifest.Load(export));
    }
}
