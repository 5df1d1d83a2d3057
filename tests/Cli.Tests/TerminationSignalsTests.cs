using System.Runtime.InteropServices;

namespace Condensa.Cli.Tests;

/// <summary>What Ctrl+C and SIGTERM do to a running command: the first cancels it, a second ends the process.</summary>
[TestClass]
public sealed class TerminationSignalsTests
{
    [TestMethod]
    public void FirstSignal_CancelsTheTokenAndKeepsTheProcess_ASecondIsLeftToTheDefault()
    {
        using var signals = new TerminationSignals(interrupt: true);
        Assert.IsFalse(signals.Token.IsCancellationRequested);

        var first = new PosixSignalContext(PosixSignal.SIGTERM);
        signals.OnSignal(first);
        Assert.IsTrue(first.Cancel, "the first signal keeps the process, so the command can end at its next pass");
        Assert.IsTrue(signals.Token.IsCancellationRequested);

        var second = new PosixSignalContext(PosixSignal.SIGINT);
        signals.OnSignal(second);
        Assert.IsFalse(second.Cancel, "a second signal ends the process at once");
        Assert.IsTrue(signals.Token.IsCancellationRequested);
    }
}
