namespace Condensa.Cli;

/// <summary>
/// Ctrl+C in <c>condensa chat</c>: while a reply streams, an interrupt stops that reply and the conversation goes on (as
/// in llama.cpp's and Ollama's chats); while chat waits for input, it is left to the console, which ends the process.
/// </summary>
public sealed class ChatInterrupts : IDisposable
{
    private readonly object _gate = new();
    private readonly bool _console;
    private CancellationTokenSource? _reply;

    private ChatInterrupts(bool console)
    {
        _console = console;
        if (console) Console.CancelKeyPress += OnCancelKeyPress;
    }

    /// <summary>Interrupts from the console's Ctrl+C.</summary>
    public static ChatInterrupts FromConsole() => new(console: true);

    /// <summary>Interrupts raised only by <see cref="Raise"/> (tests, embedding).</summary>
    public static ChatInterrupts Manual() => new(console: false);

    /// <summary>Stops the reply in progress; false when none is (the interrupt is then not handled).</summary>
    public bool Raise()
    {
        lock (_gate)
        {
            if (_reply is null || _reply.IsCancellationRequested) return false;
            _reply.Cancel();
            return true;
        }
    }

    /// <summary>A token cancelled by the next interrupt or by <paramref name="session"/>, for one reply; pair with <see cref="EndReply"/>.</summary>
    internal CancellationToken BeginReply(CancellationToken session)
    {
        lock (_gate)
        {
            if (_reply is not null) throw new InvalidOperationException("a reply is already in progress");
            _reply = CancellationTokenSource.CreateLinkedTokenSource(session);
            return _reply.Token;
        }
    }

    internal void EndReply()
    {
        lock (_gate)
        {
            _reply?.Dispose();
            _reply = null;
        }
    }

    private void OnCancelKeyPress(object? sender, ConsoleCancelEventArgs e) => e.Cancel = Raise();

    public void Dispose()
    {
        if (_console) Console.CancelKeyPress -= OnCancelKeyPress;
        EndReply();
    }
}
