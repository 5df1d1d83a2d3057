namespace Condensa.Runtime.Capture;

/// <summary>
/// How many times each pass shape (rows × new tokens × logits, causal or not) has been asked for over one set of a cache's
/// buffers, so that a shape is captured only once it recurs: a capture costs ~6-16 ms on cuda (ONNX Runtime runs the pass
/// in capture mode and instantiates the graph), and a shape asked for once or twice (a planner's probe of a new γ, a
/// static batch's drain through fewer rows) pays that and never replays it (docs/benchmarks.md, round 23). A shape asked
/// for fewer than <see cref="After"/> times runs uncaptured.
/// </summary>
internal sealed class CaptureSights(int after)
{
    /// <summary>The environment variable that sets <see cref="After"/> (default 1: every shape is captured at once).</summary>
    public const string Variable = "CONDENSA_CAPTURE_AFTER";

    private readonly Dictionary<(int Rows, int SeqLen, int K, bool Causal), int> _sights = [];
    private (int Slots, int Generation) _buffers = (-1, -1);

    /// <summary>The times a shape is asked for over the same buffers before it is captured (1: the first time).</summary>
    public int After { get; } = after >= 1 ? after : throw new ArgumentOutOfRangeException(nameof(after), after, "must be >= 1");

    /// <summary><see cref="After"/> from <see cref="Variable"/>'s <paramref name="value"/>: unset or empty is 1.</summary>
    public static int AfterFrom(string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) return 1;
        return int.TryParse(value.Trim(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n >= 1
            ? n
            : throw new CondensaException($"{Variable}='{value}': expected a whole number >= 1 (the times a pass shape is run before it is captured).");
    }

    /// <summary>Counts a pass of <paramref name="shape"/> over <paramref name="buffers"/> (a cache's slots and generation: new
    /// buffers start every count over, as they retire every graph) and says whether it is captured now.</summary>
    public bool Ready((int Rows, int SeqLen, int K, bool Causal) shape, (int Slots, int Generation) buffers)
    {
        if (After == 1) return true;
        if (buffers != _buffers)
        {
            _sights.Clear();
            _buffers = buffers;
        }
        var seen = _sights.GetValueOrDefault(shape) + 1;
        _sights[shape] = seen;
        return seen >= After;
    }
}
