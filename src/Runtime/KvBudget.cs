namespace Condensa.Runtime;

/// <summary>
/// A bounded KV cache (StreamingLLM): each row keeps its first <see cref="Sinks"/> positions and its most recent ones, in
/// slot order, between <see cref="Window"/> and <see cref="Window"/> + <see cref="Slack"/> of them. When entries would not
/// fit the slots left, the row first drops its oldest recent entries, keeping the last <see cref="Window"/> (one copy every
/// <see cref="Slack"/> tokens of steady decoding). A query sees every entry its row holds: the sinks and at least the last
/// <see cref="Window"/> positions before it. That is what lets a budgeted pass run on the causal graphs, which attend to a
/// row's first slots and rotate at the positions the host gives (docs/ARCHITECTURE.md, "KV caches").
/// </summary>
/// <param name="Sinks">Attention-sink positions kept from the start of the sequence.</param>
/// <param name="Window">Recent positions a row keeps at the least (after a compaction), besides the sinks.</param>
/// <param name="Slack">Slots for the entries that come between compactions: a pass of at most this many tokens writes them
/// into the cache itself; a draft's speculative entries and a tree need it (at least the largest draft).</param>
public sealed record KvBudget(int Sinks, int Window, int Slack = 16)
{
    /// <summary>Slots per row the budget needs.</summary>
    public int Slots => Sinks + Window + Slack;

    internal void Validate()
    {
        if (Sinks < 0) throw new ArgumentOutOfRangeException(nameof(Sinks), Sinks, "sinks must be >= 0");
        if (Window < 1) throw new ArgumentOutOfRangeException(nameof(Window), Window, "window must be >= 1");
        if (Slack < 1) throw new ArgumentOutOfRangeException(nameof(Slack), Slack, "slack must be >= 1");
    }
}
