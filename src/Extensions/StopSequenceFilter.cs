namespace Condensa.Extensions.AI;

/// <summary>
/// Streams text while watching for stop sequences: text that could still be the start of a stop sequence is held
/// back until it is not, so a stop sequence never reaches the caller, even when it spans several tokens.
/// </summary>
internal sealed class StopSequenceFilter(IEnumerable<string> stopSequences)
{
    private readonly string[] _stops = [.. stopSequences.Where(s => s.Length > 0)];
    private string _held = "";

    /// <summary>True once a stop sequence has appeared; nothing more is released after it.</summary>
    public bool Stopped { get; private set; }

    /// <summary>Adds generated text; returns the text now safe to release (possibly "").</summary>
    public string Append(string text)
    {
        if (Stopped || text.Length == 0) return "";
        _held += text;

        // 1) a complete stop sequence: release what precedes the earliest one, then nothing more
        var cut = -1;
        foreach (var stop in _stops)
        {
            var at = _held.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (cut < 0 || at < cut)) cut = at;
        }
        if (cut >= 0)
        {
            Stopped = true;
            var before = _held[..cut];
            _held = "";
            return before;
        }

        // 2) hold back the longest tail that is a proper prefix of some stop sequence
        var keep = 0;
        foreach (var stop in _stops)
            for (var n = Math.Min(stop.Length - 1, _held.Length); n > keep; n--)
                if (string.CompareOrdinal(_held, _held.Length - n, stop, 0, n) == 0) { keep = n; break; }
        var release = _held[..^keep];
        _held = _held[^keep..];
        return release;
    }

    /// <summary>Releases the held-back tail at the end of generation (it turned out not to start a stop sequence).</summary>
    public string Flush()
    {
        if (Stopped) return "";
        var rest = _held;
        _held = "";
        return rest;
    }
}
