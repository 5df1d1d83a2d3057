using Condensa.Cli.Extraction;

namespace Condensa.Cli.Tests;

[TestClass]
public sealed class OutputLockTests
{
    [TestMethod]
    public void Open_OutputHeldByAnotherJob_RefusedNamingTheOutput()
    {
        // A second OutputLog on the same file is what a restarted pod or a second terminal does; with --resume it would
        // cut the first job's half-written line and append beside it.
        var output = new ExtractFiles().Path("out.jsonl");
        using var first = OutputLog.Open(output, resume: true);

        var e = Assert.ThrowsExactly<IOException>(() => OutputLog.Open(output, resume: true));

        Assert.AreEqual($"{output}: another process is writing this output (it holds {output}.lock, which names it); " +
            "wait for that job to end or pick another --output.", e.Message);
    }

    [TestMethod]
    public void Open_AfterTheFirstJobEnds_Succeeds()
    {
        var output = new ExtractFiles().Path("out.jsonl");
        using (var first = OutputLog.Open(output, resume: true)) first.Append("""{"id":"a","line":1}"""u8);

        using var second = OutputLog.Open(output, resume: true);

        Assert.Contains("line 1", second.Done);
    }

    [TestMethod]
    public void Open_LockFileNamesItsHolder()
    {
        var output = new ExtractFiles().Path("out.jsonl");
        using (OutputLog.Open(output, resume: false)) { }

        // Read after the job: while it runs the file is locked against .NET readers too (cat still reads it).
        StringAssert.StartsWith(File.ReadAllText(OutputLock.PathOf(output)), $"pid {Environment.ProcessId} on {Environment.MachineName} since ");
    }

    [TestMethod]
    public void Open_Held_TheOutputStaysReadable()
    {
        var output = new ExtractFiles().Path("out.jsonl");
        using var log = OutputLog.Open(output, resume: false);
        log.Append("""{"id":"a","line":1}"""u8);

        // Readers (a .NET one takes a shared lock) must not be locked out of the output while the job runs.
        using var reader = new FileStream(output, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        Assert.AreEqual(20, reader.Length);
    }
}
