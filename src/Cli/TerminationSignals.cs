using System.Runtime.InteropServices;

namespace Condensa.Cli;

/// <summary>
/// Stops a command on Ctrl+C (SIGINT) or SIGTERM by cancelling its token, so it ends at its next pass with what it wrote
/// kept (bench's JSON, extract's records); a second signal ends the process at once. System.CommandLine's own handler
/// instead ends the process 2 s after the first signal whatever the command is doing (a long pass on a GPU, a trace line
/// half written), and on the device machines threw from its handler then (docs/benchmarks.md, round 26; round 27's trace).
/// </summary>
internal sealed class TerminationSignals : IDisposable
{
    private readonly CancellationTokenSource _source = new();
    private readonly PosixSignalRegistration[] _registrations;
    private int _signals;

    /// <param name="interrupt">Whether Ctrl+C stops the command too (chat takes it to stop a reply instead).</param>
    public TerminationSignals(bool interrupt)
    {
        _registrations = interrupt
            ? [PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal), PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal)]
            : [PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal)];
    }

    /// <summary>Cancelled by the first signal.</summary>
    public CancellationToken Token => _source.Token;

    /// <summary>The first signal cancels <see cref="Token"/> and keeps the process; a later one is left to the default,
    /// which ends it.</summary>
    internal void OnSignal(PosixSignalContext context)
    {
        if (Interlocked.Increment(ref _signals) != 1) return;
        context.Cancel = true;
        // The token's callbacks (an awaiting command's continuation, serve's shutdown) run on the thread pool, not on the
        // thread that delivers signals, which must stay free for a second one.
        _ = _source.CancelAsync();
    }

    public void Dispose()
    {
        foreach (var registration in _registrations) registration.Dispose();
        _source.Dispose();
    }
}
