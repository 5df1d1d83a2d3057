using Condensa.TestSupport;

namespace Condensa.Cli.Tests;

/// <summary>Runs the CLI in-process with captured output, and makes tiny checkpoints with a tokenizer.</summary>
internal static class CliRunner
{
    public static async Task<(int Exit, string Output, string Error)> Run(params string[] args) => await RunWithInput("", args);

    public static async Task<(int Exit, string Output, string Error)> RunWithInput(string input, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = await CliApp.RunAsync(args, output, error, input: new StringReader(input));
        return (exit, output.ToString(), error.ToString());
    }

    /// <summary>Ids of the tiny byte-level tokenizer: the model's vocabulary matches it, so every sampled id decodes.</summary>
    public const int TokenizerVocab = 282;

    /// <summary>A fresh tiny llama checkpoint with a byte-level tokenizer, in its own folder.</summary>
    public static string Checkpoint(TinyModelSpec? spec = null)
    {
        var dir = Directory.CreateTempSubdirectory("condensa-cli-").FullName;
        TinyCheckpoint.Write(dir, (spec ?? new TinyModelSpec { Architecture = "llama", Seed = 5 }) with { VocabSize = TokenizerVocab });
        TinyTokenizerFiles.Write(dir);
        return dir;
    }

    /// <summary>A draft model for <see cref="Checkpoint()"/>'s default: one layer, other weights, the same tokenizer.</summary>
    public static string DraftCheckpoint() => Checkpoint(new TinyModelSpec { Architecture = "llama", NumLayers = 1, Seed = 9 });
}

[TestClass]
public static class CliAssembly
{
    [AssemblyInitialize]
    public static void UseTemporaryExportCache(TestContext _) =>
        Environment.SetEnvironmentVariable("CONDENSA_CACHE", Directory.CreateTempSubdirectory("condensa-cache-").FullName);
}
