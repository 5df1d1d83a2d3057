using Condensa.Export;
using Condensa.TestSupport;

namespace Condensa.Extensions.Tests;

/// <summary>A tiny random Llama with the tiny byte-level tokenizer (Zephyr chat template), exported once per test process.</summary>
internal static class TinyChatModel
{
    private static readonly Lazy<string> Made = new(() =>
    {
        var root = Directory.CreateTempSubdirectory("condensa-chat-").FullName;
        var checkpoint = Path.Combine(root, "checkpoint");
        var export = Path.Combine(root, "export");
        // The model's vocabulary is the tokenizer's, so every sampled id decodes.
        TinyCheckpoint.Write(checkpoint, new TinyModelSpec { Architecture = "llama", Seed = 5, VocabSize = TinyTokenizerFiles.VocabSize });
        TinyTokenizerFiles.Write(checkpoint);
        CheckpointExporter.Export(checkpoint, export, new ExportOptions());
        return export;
    });

    /// <summary>The export folder (condensa.json, graph, tokenizer files).</summary>
    public static string ExportDir => Made.Value;
}
