namespace Condensa.Runtime;

/// <summary>
/// A bounded KV cache (StreamingLLM): the first <see cref="Sinks"/> positions stay forever, and a ring keeps the
/// most recent <see cref="Window"/> positions. <see cref="Slack"/> extra ring slots let a draft write a few
/// speculative tokens without evicting anything a later query still sees, so rejecting them loses nothing.
/// </summary>
/// <param name="Sinks">Attention-sink positions kept from the start of the sequence.</param>
/// <param name="Window">Most recent positions a query attends to besides the sinks.</param>
/// <param name="Slack">Extra ring slots for speculative entries (at least the largest draft length).</param>
public sealed record KvBudget(int Sinks, int Window, int Slack = 16)
{
    /// <summary>Slots per row the budget needs.</summary>
    public int Slots => Sinks + Window + Slack;

    /// <summary>Ring length (window plus slack).</summary>
    public int Ring => Window + Slack;

    /// <summary>The slot that holds <paramref name="position"/>.</summary>
    public int SlotOf(long position) => position < Sinks ? (int)position : Sinks + (int)((position - Sinks) % Ring);

    /// <summary>Whether a query at <paramref name="query"/> may see the key at <paramref name="key"/> (key &lt; query).</summary>
    public bool Admits(long key, long query) => key < Sinks || key >= query - Window;

    internal void Validate()
    {
        if (Sinks < 0) throw new ArgumentOutOfRangeException(nameof(Sinks), Sinks, "sinks must be >= 0");
        if (Window < 1) throw new ArgumentOutOfRangeException(nameof(Window), Window, "window must be >= 1");
        if (Slack < 0) throw new ArgumentOutOfRangeException(nameof(Slack), Slack, "slack must be >= 0");
    }
}
