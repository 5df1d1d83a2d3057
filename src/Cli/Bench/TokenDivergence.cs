namespace Condensa.Cli.Bench;

/// <summary>Where a row first leaves plain decoding's tokens: how far apart the target's logits put the two tokens
/// (<paramref name="Gap"/>), and the larger one's size (<paramref name="Magnitude"/>), which sets the precision's step there.</summary>
internal readonly record struct TieMargin(double Gap, double Magnitude);

/// <summary>How a run's tokens left plain decoding's: <paramref name="Rows"/> of <paramref name="OfRows"/> rows differ, the
/// earliest at new token <paramref name="FirstToken"/> of row <paramref name="FirstRow"/> (a float16 near tie flips a row or
/// two late; a wrong pass flips many early).</summary>
internal sealed record TokenDivergence(int Rows, int OfRows, int FirstToken, int FirstRow)
{
    /// <summary>Per row that differs with a token on both sides: how far apart the target's logits put plain decoding's token
    /// and the run's, where the row first differs (<see cref="SpeculativeBench.TieMargins"/>); null where not measured.</summary>
    public IReadOnlyList<double>? Margins { get; init; }

    /// <summary>Each of <see cref="Margins"/> in steps of the export's logits (<see cref="LogitSpacing"/>): 0 or 1 is a tie
    /// the graph's output cannot order; null for a float32 export or where not measured.</summary>
    public IReadOnlyList<double>? MarginSteps { get; init; }

    /// <summary>The precision <see cref="MarginSteps"/> counts in ("float16"), or null.</summary>
    public string? StepPrecision { get; init; }

    public override string ToString() => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"{Rows} of {OfRows} rows differ from plain decoding's tokens, the earliest at new token {FirstToken} (row {FirstRow})") +
        (Margins is { Count: > 0 } m
            ? string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"; where each first differs, the target's logits of the two tokens (one batch-1 pass over plain decoding's prefix) lie {m.Min():0.####}-{m.Max():0.####} apart") +
              (MarginSteps is { Count: > 0 } s
                ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $", {s.Min():0.#}-{s.Max():0.#} {StepPrecision} steps")
                : "")
            : "");

    /// <summary>The table's cell: "NO: 1 of 8 rows, from token 24", with the widest margin, and its steps, where measured.</summary>
    public string Cell => $"NO: {Rows} of {OfRows} rows, from token {FirstToken}" +
        (Margins is { Count: > 0 } m ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $", logits ≤ {m.Max():0.###} apart") : "") +
        (MarginSteps is { Count: > 0 } s ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $" (≤ {s.Max():0.#} {StepPrecision} step{(s.Max() == 1 ? "" : "s")})") : "");
}
