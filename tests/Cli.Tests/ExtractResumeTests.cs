using System.Diagnostics;

namespace Condensa.Cli.Tests;

/// <summary>Durability of <c>condensa extract</c>: a crash at any point loses no finished record, and <c>--resume</c>
/// neither repeats nor skips one.</summary>
[TestClass]
public sealed class ExtractResumeTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public async Task Extract_KilledMidJob_ResumeEqualsAnUninterruptedRun()
    {
        var (files, argsFor, whole) = await UninterruptedJob(documents: 200);

        // 1) the CLI as a child process, killed once it has written a few records (possibly in the middle of one)
        var killed = files.Path("killed.jsonl");
        var linesAtKill = await RunAndKill(argsFor(killed), killed, afterLines: 5);
        Assert.IsLessThan(200, linesAtKill, "the job finished before it could be killed; make it longer");
        TestContext.WriteLine($"killed after {linesAtKill} complete records");

        // 2) resume in-process, and compare with the uninterrupted run: same records, none twice
        var resumed = await CliRunner.Run([.. argsFor(killed), "--resume"]);
        Assert.AreEqual(0, resumed.Exit, resumed.Error);
        StringAssert.Contains(resumed.Error, "resuming");
        ExtractFiles.AssertSameRecords(whole, killed);
    }

    [TestMethod]
    public async Task Extract_TerminatedMidJob_StopsCancelledAtARecordBoundaryAndResumes()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) Assert.Inconclusive("sends SIGTERM with kill(1)");
        var (files, argsFor, whole) = await UninterruptedJob(documents: 200);

        // 1) SIGTERM (what `timeout`, a container's stop or a service manager sends) once a few records are written
        var stopped = files.Path("stopped.jsonl");
        using var child = StartChild(argsFor(stopped));
        await WaitForLines(child, stopped, 5);
        using (var kill = Process.Start("kill", ["-TERM", child.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            await kill.WaitForExitAsync(TestContext.CancellationToken);
        await child.WaitForExitAsync(TestContext.CancellationToken);

        // 2) the job ends as cancelled, not killed: its exit code and one line, every record it wrote whole
        string errors;
        lock (_childErrors) errors = _childErrors.ToString();
        Assert.AreEqual(130, child.ExitCode, errors);
        StringAssert.Contains(errors, "cancelled");
        Assert.DoesNotContain("Unhandled exception", errors);
        var written = File.ReadAllBytes(stopped);
        Assert.IsLessThan(200, Lines(stopped), "the job finished before the signal; make it longer");
        Assert.AreEqual((byte)'\n', written[^1], "the output ends inside a record");

        // 3) --resume finishes the job as an uninterrupted run would
        var resumed = await CliRunner.Run([.. argsFor(stopped), "--resume"]);
        Assert.AreEqual(0, resumed.Exit, resumed.Error);
        ExtractFiles.AssertSameRecords(whole, stopped);
    }

    [TestMethod]
    public async Task Extract_SecondJobOnTheSameOutputWhileTheFirstRuns_RefusedAtOnceAndNoRecordLost()
    {
        var (files, argsFor, whole) = await UninterruptedJob(documents: 60);

        // 1) the first job, a child process, has written some records and is still running
        var shared = files.Path("shared.jsonl");
        using var first = StartChild(argsFor(shared));
        await WaitForLines(first, shared, 3);

        // 2) a second job on the same output, plain and resuming, while the first runs
        var plain = await CliRunner.Run(argsFor(shared));
        var resuming = await CliRunner.Run([.. argsFor(shared), "--resume"]);
        var stillRunning = !first.HasExited;

        // 3) both refused with one line naming the output; the first job finishes every record, none lost or torn
        await first.WaitForExitAsync(TestContext.CancellationToken);
        Assert.IsTrue(stillRunning, "the first job ended before the second started; make it longer");
        foreach (var (exit, _, error) in new[] { plain, resuming })
        {
            Assert.AreEqual(1, exit, error);
            Assert.AreEqual($"error: {shared}: another process is writing this output (it holds {shared}.lock, which names it); " +
                "wait for that job to end or pick another --output.", error.Trim());
        }
        Assert.AreEqual(0, first.ExitCode);
        ExtractFiles.AssertSameRecords(whole, shared);
    }

    [TestMethod]
    public async Task Extract_ResumeAfterTornLastLine_RedoesThatRecordOnce()
    {
        var checkpoint = CliRunner.Checkpoint();
        var files = new ExtractFiles();
        var input = files.Documents(9);
        string[] Args(string output) => ["extract", "--model", checkpoint, "--input", input, "--output", output, "--prompt-template", files.Template,
            "--batch", "3", "--max-tokens", "8"];
        var whole = files.Path("whole.jsonl");
        Assert.AreEqual(0, (await CliRunner.Run(Args(whole))).Exit);

        // A crash after 4 complete records, in the middle of writing the 5th.
        var lines = File.ReadAllLines(whole);
        var torn = files.Path("torn.jsonl");
        File.WriteAllText(torn, string.Join("\n", lines[..4]) + "\n" + lines[4][..(lines[4].Length / 2)]);

        var resumed = await CliRunner.Run([.. Args(torn), "--resume"]);

        Assert.AreEqual(0, resumed.Exit, resumed.Error);
        StringAssert.Contains(resumed.Error, "4 records already done, 5 to go");
        StringAssert.Contains(resumed.Output, "5 records (0 errors)");
        ExtractFiles.AssertSameRecords(whole, torn);
    }

    [TestMethod]
    public async Task Extract_ResumeOfAFinishedJob_AddsNothing()
    {
        var checkpoint = CliRunner.Checkpoint();
        var files = new ExtractFiles();
        string[] args = ["extract", "--model", checkpoint, "--input", files.Documents(4), "--output", files.Path("out.jsonl"),
            "--prompt-template", files.Template, "--max-tokens", "4"];
        Assert.AreEqual(0, (await CliRunner.Run(args)).Exit);
        var before = File.ReadAllText(files.Path("out.jsonl"));

        var again = await CliRunner.Run([.. args, "--resume"]);

        Assert.AreEqual(0, again.Exit, again.Error);
        StringAssert.Contains(again.Output, "0 records");
        Assert.AreEqual(before, File.ReadAllText(files.Path("out.jsonl")));
    }

    [TestMethod]
    public async Task Extract_ExistingOutputWithoutResume_RefusesAndKeepsIt()
    {
        var files = new ExtractFiles();
        var output = files.Path("out.jsonl");
        File.WriteAllText(output, "{\"id\":\"x\",\"line\":1,\"text\":\"kept\"}\n");
        var (exit, _, error) = await CliRunner.Run("extract", "--model", CliRunner.Checkpoint(), "--input", files.Documents(2), "--output", output,
            "--prompt-template", files.Template);
        Assert.AreEqual(1, exit);
        StringAssert.Contains(error, "out.jsonl: the output file already holds records; pass --resume");
        StringAssert.Contains(File.ReadAllText(output), "kept");
    }

    [TestMethod]
    public async Task Extract_ResumeOnAForeignFile_NamesItsLine()
    {
        var files = new ExtractFiles();
        var output = files.Path("out.jsonl");
        File.WriteAllText(output, "{\"id\":\"x\",\"line\":1,\"text\":\"a\"}\n{\"other\":true}\n");
        var (exit, _, error) = await CliRunner.Run("extract", "--model", CliRunner.Checkpoint(), "--input", files.Documents(2), "--output", output,
            "--prompt-template", files.Template, "--resume");
        Assert.AreEqual(1, exit);
        StringAssert.Contains(error, "out.jsonl:2: not an extraction record");
    }

    /// <summary>An extract job over <paramref name="documents"/> documents (batch 2, 24 tokens each, plain decoding): its files,
    /// its arguments for an output path, and the output of an uninterrupted run, which also exports the checkpoint, so a
    /// child process of the same job starts quickly.</summary>
    private static async Task<(ExtractFiles Files, Func<string, string[]> Args, string Whole)> UninterruptedJob(int documents)
    {
        var checkpoint = CliRunner.Checkpoint();
        var files = new ExtractFiles();
        var input = files.Documents(documents);
        string[] Args(string output) => ["extract", "--model", checkpoint, "--input", input, "--output", output, "--prompt-template", files.Template,
            "--batch", "2", "--max-tokens", "24", "--speculative", "none"];
        var whole = files.Path("whole.jsonl");
        var run = await CliRunner.Run(Args(whole));
        Assert.AreEqual(0, run.Exit, run.Error);
        return (files, Args, whole);
    }

    /// <summary>Starts <c>dotnet condensa.dll ARGS</c> and kills it (the whole tree) once <paramref name="output"/> has
    /// <paramref name="afterLines"/> lines; returns the lines written by then.</summary>
    private async Task<int> RunAndKill(string[] args, string output, int afterLines)
    {
        using var process = StartChild(args);
        await WaitForLines(process, output, afterLines);
        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync(TestContext.CancellationToken);
        return Lines(output);
    }

    /// <summary>Starts <c>dotnet condensa.dll ARGS</c> as a child process, its output read (and dropped) in the background.</summary>
    private Process StartChild(string[] args)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "condensa.dll"));
        foreach (var arg in args) start.ArgumentList.Add(arg);
        var process = Process.Start(start)!;
        process.ErrorDataReceived += (_, e) => { if (e.Data is { } line) lock (_childErrors) _childErrors.AppendLine(line); };
        process.BeginErrorReadLine();
        _ = process.StandardOutput.ReadToEndAsync(TestContext.CancellationToken);
        return process;
    }

    private readonly System.Text.StringBuilder _childErrors = new();

    /// <summary>Waits until <paramref name="output"/> has <paramref name="lines"/> lines, failing if the job ends first.</summary>
    private async Task WaitForLines(Process process, string output, int lines)
    {
        var deadline = Stopwatch.StartNew();
        while (Lines(output) < lines)
        {
            if (process.HasExited) Assert.Fail($"the job ended (exit {process.ExitCode}) before {lines} records: {_childErrors}");
            if (deadline.Elapsed > TimeSpan.FromMinutes(2)) Assert.Fail("no records after two minutes");
            await Task.Delay(2, TestContext.CancellationToken);
        }
    }

    private static int Lines(string path)
    {
        if (!File.Exists(path)) return 0;
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var count = 0;
        int b;
        while ((b = stream.ReadByte()) >= 0) if (b == '\n') count++;
        return count;
    }
}
