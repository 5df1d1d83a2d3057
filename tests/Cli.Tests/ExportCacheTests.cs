using System.Diagnostics;
using Condensa.Export;
using Condensa.Runtime;
using Condensa.TestSupport;

namespace Condensa.Cli.Tests;

[TestClass]
public sealed class ExportCacheTests
{
    [TestMethod]
    public void Resolve_GenerationConfigEosChanged_ExportsAgainWithTheNewStopToken()
    {
        var checkpoint = CliRunner.Checkpoint();
        var config = Path.Combine(checkpoint, "generation_config.json");
        File.WriteAllText(config, """{"eos_token_id": 2}""");
        var first = ExportCache.Resolve(checkpoint, "eos", ExportPrecision.Fp32, TextWriter.Null);

        File.WriteAllText(config, """{"eos_token_id": [2, 7]}""");
        var log = new StringWriter();
        var second = ExportCache.Resolve(checkpoint, "eos", ExportPrecision.Fp32, log);

        Assert.AreNotEqual(first, second);
        StringAssert.Contains(log.ToString(), "exporting");
        CollectionAssert.DoesNotContain(ModelManifest.Load(first).EosTokenIds, 7);
        CollectionAssert.Contains(ModelManifest.Load(second).EosTokenIds, 7);
    }

    [TestMethod]
    public async Task Generate_TokenizerAddedAfterFirstExport_ExportsAgainAndRuns()
    {
        var checkpoint = Directory.CreateTempSubdirectory("condensa-cli-").FullName;
        TinyCheckpoint.Write(checkpoint, new TinyModelSpec { Architecture = "llama", Seed = 5, VocabSize = CliRunner.TokenizerVocab });
        var before = await CliRunner.Run("generate", "--model", checkpoint, "--prompt", "abc", "--max-tokens", "3");
        Assert.AreEqual(1, before.Exit, before.Error);

        TinyTokenizerFiles.Write(checkpoint);
        var after = await CliRunner.Run("generate", "--model", checkpoint, "--prompt", "abc", "--max-tokens", "3");

        Assert.AreEqual(0, after.Exit, after.Error);
        StringAssert.Contains(after.Error, "exporting");
    }

    [TestMethod]
    public async Task Generate_CheckpointWithoutTokenizer_ErrorNamesTheCheckpoint()
    {
        // The cached export only mirrors the checkpoint; the user has to fix the checkpoint, so the error must name it.
        var checkpoint = Directory.CreateTempSubdirectory("condensa-cli-").FullName;
        TinyCheckpoint.Write(checkpoint, new TinyModelSpec { Architecture = "llama", Seed = 5, VocabSize = CliRunner.TokenizerVocab });

        var (exit, _, error) = await CliRunner.Run("generate", "--model", checkpoint, "--prompt", "abc", "--max-tokens", "3");

        Assert.AreEqual(1, exit);
        var line = error.TrimEnd().Split('\n')[^1];
        StringAssert.StartsWith(line, $"error: checkpoint {checkpoint} ");
        StringAssert.Contains(line, "no tokenizer file");
    }

    [TestMethod]
    public void Resolve_AbandonedTempOfKilledExport_RemovedOnNextUse()
    {
        var checkpoint = CliRunner.Checkpoint();
        var folder = ExportCache.Resolve(checkpoint, "killed", ExportPrecision.Fp32, TextWriter.Null);
        Directory.Delete(folder, recursive: true);   // as if the first export had been killed before its rename
        var orphan = Temp(Path.GetFileName(folder) + $".tmp-{DeadProcessId()}-{Environment.MachineName}");
        File.WriteAllText(Path.Combine(orphan, "model.onnx.data"), "half written");

        var resolved = ExportCache.Resolve(checkpoint, "killed", ExportPrecision.Fp32, TextWriter.Null);

        Assert.AreEqual(folder, resolved);
        Assert.IsFalse(Directory.Exists(orphan), orphan);
        Assert.IsTrue(File.Exists(Path.Combine(resolved, ModelManifest.FileName)));
    }

    [TestMethod]
    public void Resolve_TempFolders_OnlyThoseOfDeadProcessesOfThisHostRemoved()
    {
        var checkpoint = CliRunner.Checkpoint();
        ExportCache.Resolve(checkpoint, "temps", ExportPrecision.Fp32, TextWriter.Null);
        var (id, host, dead) = (Guid.NewGuid().ToString("N")[..8], Environment.MachineName, DeadProcessId());
        var deadHere = Temp($"{id}-a-fp32-v5-0123.tmp-{dead}-{host}");
        var deadOldName = Temp($"{id}-b-fp32-v5-0123.tmp-{dead}");                     // written before the host was in the name
        var alive = Temp($"{id}-c-fp32-v5-0123.tmp-{Environment.ProcessId}-{host}");     // an export in progress
        var otherHost = Temp($"{id}-d-fp32-v5-0123.tmp-{dead}-another-node");           // a shared cache: not ours to judge
        var otherHostStale = Temp($"{id}-f-fp32-v5-0123.tmp-{dead}-another-node");      // ... until a day without writes
        File.WriteAllText(Path.Combine(otherHostStale, "model.onnx.data"), "half written");
        File.SetLastWriteTimeUtc(Path.Combine(otherHostStale, "model.onnx.data"), DateTime.UtcNow.AddHours(-25));
        Directory.SetLastWriteTimeUtc(otherHostStale, DateTime.UtcNow.AddHours(-25));
        var finished = Temp($"{id}-e-fp32-v5-0123");

        ExportCache.Resolve(checkpoint, "temps", ExportPrecision.Fp32, TextWriter.Null);   // cached: no export, only the clean-up

        Assert.IsFalse(Directory.Exists(deadHere), deadHere);
        Assert.IsFalse(Directory.Exists(deadOldName), deadOldName);
        Assert.IsTrue(Directory.Exists(alive), alive);
        Assert.IsTrue(Directory.Exists(otherHost), otherHost);
        Assert.IsFalse(Directory.Exists(otherHostStale), otherHostStale);
        Assert.IsTrue(Directory.Exists(finished), finished);
    }

    private static string Temp(string name)
    {
        var path = Path.Combine(ExportCache.Root, name);
        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>The id of a process that has exited (a finished child's).</summary>
    private static int DeadProcessId()
    {
        using var child = Process.Start(new ProcessStartInfo("dotnet", "--version") { RedirectStandardOutput = true })!;
        child.WaitForExit();
        return child.Id;
    }
}
