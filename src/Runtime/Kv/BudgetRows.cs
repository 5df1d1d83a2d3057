namespace Condensa.Runtime.Kv;

/// <summary>
/// Which slots the rows of a budgeted cache fill (<see cref="KvBudget"/>). A row of length L that fills F slots holds its
/// positions in slot order: slots 0 .. min(F, sinks) - 1 hold the sink positions, and the rest the F - sinks most recent
/// positions, L - (F - sinks) .. L - 1; F = L while nothing was dropped. So a pass writes a row's entries at F, F + 1, ...
/// as it would at L in a cache that keeps every position, and attends to the first F slots and itself.
/// </summary>
internal sealed class BudgetRows(KvBudget budget, int batch)
{
    private readonly int[] _fills = new int[batch];

    public KvBudget Budget { get; } = budget;

    /// <summary>Slots each row fills.</summary>
    public Span<int> Fills => _fills;

    /// <summary>The slot that holds <paramref name="position"/> of a row of <paramref name="length"/> tokens (a position
    /// the row holds).</summary>
    public int SlotOf(int row, int length, int position) =>
        _fills[row] == length || position < Budget.Sinks ? position : _fills[row] - (length - position);

    /// <summary>Whether a row of <paramref name="length"/> tokens holds <paramref name="position"/>.</summary>
    public bool Holds(int row, int length, int position) =>
        position < length && (_fills[row] == length || position < Budget.Sinks || position >= length - (_fills[row] - Budget.Sinks));

    /// <summary>
    /// Makes room in a row of <paramref name="length"/> tokens for <paramref name="count"/> new entries (positions length ..
    /// length + count - 1) within <paramref name="capacity"/> slots: where they do not fit, the row's oldest recent entries
    /// are dropped, the last <see cref="KvBudget.Window"/> moving down behind the sinks (added to <paramref name="moves"/>);
    /// more new entries than the slack keep the last Window recent positions of old and new together. Returns how many of
    /// the new entries, after the ones that are sinks, are dropped as well: new entry j then goes to slot
    /// <see cref="Fills"/>[row] + j, less that count for the entries after the dropped ones.
    /// </summary>
    public int MakeRoom(int row, int length, int count, int capacity, KvMoves moves)
    {
        var fill = _fills[row];
        if (fill + count <= capacity) return 0;
        var sinkEntries = Math.Clamp(Budget.Sinks - length, 0, count);   // only while nothing is dropped (fill = length)
        var recent = count - sinkEntries;
        var held = Math.Max(0, fill - Budget.Sinks);                       // recent entries the row holds
        var (keep, dropped) = count <= Budget.Slack ? (Math.Min(held, Budget.Window), 0)
            : recent >= Budget.Window ? (0, recent - Budget.Window)
            : (Math.Min(held, Budget.Window - recent), 0);
        var sinksHeld = fill - held;
        if (fill - keep != sinksHeld) moves.Add(row, fill - keep, row, sinksHeld, keep);
        _fills[row] = sinksHeld + keep;
        return dropped;
    }

    /// <summary>A row of <paramref name="length"/> tokens rewound to <paramref name="rewound"/>: the entries past it go, and
    /// with them any recent entry the row no longer holds from (the sinks stay).</summary>
    public void Rewind(int row, int length, int rewound)
    {
        var fill = _fills[row];
        var oldestRecent = length - (fill - Math.Min(fill, Budget.Sinks));   // the first recent position held
        _fills[row] = fill == length ? rewound
            : rewound >= oldestRecent ? fill - (length - rewound)
            : Math.Min(rewound, Budget.Sinks);
    }

    /// <summary>Row <paramref name="from"/>'s slots now belong to row <paramref name="to"/>; <paramref name="from"/> is empty.</summary>
    public void Move(int from, int to) => (_fills[to], _fills[from]) = (_fills[from], 0);

    public void Clear() => Array.Clear(_fills);
}
