namespace Condensa.Cli.Bench;

/// <summary>
/// The spacing of the values a float16 or bfloat16 export's lm_head can write near a logit: the graph casts its output
/// to float32 only after the GEMM, so two tokens whose logits lie less than one step apart have no order the graph can
/// tell, and any rounding upstream picks the winner. Measuring a tie in steps separates such ties (0 or 1 step) from a
/// wrong pass (many). A soft-capped model (Gemma 2) squeezes its logits after the cast, so there the steps are wider
/// than counted.
/// </summary>
internal static class LogitSpacing
{
    /// <summary>The gap between two representable values of <paramref name="type"/> at <paramref name="magnitude"/> (the
    /// larger |logit| of the two; its sign is ignored), or null for a float32 export, whose ties are rounding's too but
    /// finer than any step worth naming.</summary>
    public static double? Step(double magnitude, KvDataType type)
    {
        if (Format(type) is not { } format) return null;
        magnitude = Math.Abs(magnitude);
        var exponent = magnitude > 0 ? Math.Max(Math.ILogB(magnitude), format.MinExponent) : format.MinExponent;   // subnormals: the smallest normal's step
        return Math.ScaleB(1.0, exponent - format.MantissaBits);
    }

    /// <summary>The precision's name for a note ("float16"), or null where <see cref="Step"/> is.</summary>
    public static string? Name(KvDataType type) => Format(type)?.Name;

    private static (string Name, int MantissaBits, int MinExponent)? Format(KvDataType type) => type switch
    {
        KvDataType.Float16 => ("float16", 10, -14),
        KvDataType.BFloat16 => ("bfloat16", 7, -126),
        _ => null,
    };
}
