using Condensa.Export;
using Condensa.TestSupport;

namespace Condensa.Extensions.Tests;

/// <summary>A tiny random Llama with the tiny byte-level tokenizer (Zephyr chat template), exported once per test process.</summary>
internal static class TinyChatModel
{
    private static readonly Lazy<string> Checkpoint = new(() =>
    {
        var checkpoint = Path.Combine(Directory.CreateTempSubdirectory("condensa-chat-").FullName, "checkpoint");
        // The model's vocabulary is the tokenizer's, so every sampled id decodes.
        TinyCheckpoint.Write(checkpoint, new TinyModelSpec { Architecture = "llama", Seed = 5, VocabSize = TinyTokenizerFiles.VocabSize });
        TinyTokenizerFiles.Write(checkpoint);
        return checkpoint;
    });

    private static readonly Lazy<string> Made = new(() => Export("export", ExportPrecision.Fp32));
    private static readonly Lazy<string> MadeHalf = new(() => Export("export-fp16", ExportPrecision.Fp16));

    /// <summary>The export folder (condensa.json, graph, tokenizer files).</summary>
    public static string ExportDir => Made.Value;

    /// <summary>The same checkpoint exported at float16 (its general graph, which the CPU runs).</summary>
    public static string HalfExportDir => MadeHalf.Value;

    private static string Export(string folder, ExportPrecision precision)
    {
        var export = Path.Combine(Path.GetDirectoryName(Checkpoint.Value)!, folder);
        CheckpointExporter.Export(Checkpoint.Value, export, new ExportOptions { Precision = precision, SwiGlu = false });
        return export;
    }
}
