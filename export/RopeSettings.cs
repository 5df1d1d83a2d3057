namespace Condensa.Export;

/// <summary>
/// Rotary embedding settings of a checkpoint, normalised from either transformers layout
/// (v4 <c>rope_theta</c> + <c>rope_scaling</c>, v5 <c>rope_parameters</c>).
/// </summary>
/// <param name="Type">"default", "linear", "llama3" or "longrope".</param>
/// <param name="Theta">The base of the inverse frequencies.</param>
/// <param name="Factor">Scaling factor (linear, llama3); 1 for default.</param>
/// <param name="LowFreqFactor">llama3 only.</param>
/// <param name="HighFreqFactor">llama3 only.</param>
/// <param name="OriginalMaxPositionEmbeddings">llama3 and longrope: the context length the model was trained at.</param>
public sealed record RopeSettings(
    string Type,
    double Theta,
    double Factor = 1.0,
    double LowFreqFactor = 1.0,
    double HighFreqFactor = 4.0,
    int OriginalMaxPositionEmbeddings = 8192)
{
    /// <summary>Rope types the exporter implements; anything else is an <see cref="ExportException"/>.</summary>
    public static readonly IReadOnlyList<string> SupportedTypes = ["default", "linear", "llama3", "longrope"];

    /// <summary>The fraction of each head that is rotated (partial_rotary_factor; Phi-4-mini 0.75), the rest passes through.</summary>
    public double PartialRotaryFactor { get; init; } = 1.0;

    /// <summary>longrope: the per-frequency divisors transformers rotates a forward call's tokens with while the call's
    /// largest position id is below <see cref="OriginalMaxPositionEmbeddings"/> (<see cref="LongFactor"/> past it).</summary>
    public double[]? ShortFactor { get; init; }

    /// <summary>longrope: the per-frequency divisors of a forward call whose largest position id is at least
    /// <see cref="OriginalMaxPositionEmbeddings"/> (see <see cref="LongRowsOffset"/>).</summary>
    public double[]? LongFactor { get; init; }

    /// <summary>cos and sin are multiplied by it (longrope's attention factor; 1 for the others).</summary>
    public double AttentionFactor { get; init; } = 1.0;

    /// <summary>How many leading dims of a head of <paramref name="headDim"/> are rotated.</summary>
    public int RotaryDim(int headDim) => (int)(headDim * PartialRotaryFactor);

    /// <summary>
    /// Where the long-factor rows start in the rotary tables of an export of <paramref name="maxPositions"/> positions, or
    /// null where there are none. transformers (longrope_frequency_update) picks longrope's factors per forward call: the
    /// long ones when the call's largest position id + 1 passes <see cref="OriginalMaxPositionEmbeddings"/>, else the short
    /// ones, and never re-rotates what it cached. So a longrope export past the original context has the short rows of
    /// positions 0..original-1 followed by the long rows of positions 0..maxPositions-1, and the general graph adds this
    /// offset to every position id of a pass whose largest one is at least original (Attention.Prepare).
    /// </summary>
    public int? LongRowsOffset(int maxPositions) =>
        Type == "longrope" && maxPositions > OriginalMaxPositionEmbeddings ? OriginalMaxPositionEmbeddings : null;

    /// <summary>The rows of the rotary tables of an export of <paramref name="maxPositions"/> positions: one per position,
    /// and for longrope past its original context the short rows before the long ones (<see cref="LongRowsOffset"/>), then
    /// <see cref="PaddingRows"/> more.</summary>
    public int TableRows(int maxPositions) => (LongRowsOffset(maxPositions) ?? 0) + maxPositions + PaddingRows;

    /// <summary>
    /// Rows past the last position, which continue the table for padding alone (the manifest's rotary_padding_rows). A
    /// causal pass at batch &gt; 1 writes S entries in every row at its length, a short row's padding included, and ONNX
    /// Runtime checks every written position against the table, so without them a row within S positions of the context
    /// limit sent the whole batch's pass to a slower graph (a verification at 64 x 7,680 on the H200: 3-6 ms instead of
    /// 1.4; docs/benchmarks.md, round 16). Padding entries are never read, so what they are rotated by does not matter.
    /// 32 covers the longest multi-row causal pass.
    /// </summary>
    public const int PaddingRows = 32;

    /// <summary>
    /// The inverse frequencies for a head of <paramref name="headDim"/> (length headDim / 2), computed
    /// exactly as transformers' rope init functions do, in float64; <paramref name="longFactors"/> takes longrope's
    /// long_factor instead of its short_factor.
    /// </summary>
    public double[] InverseFrequencies(int headDim, bool longFactors = false)
    {
        int dim = RotaryDim(headDim), half = dim / 2;
        var inv = new double[half];
        for (int i = 0; i < half; i++)
            inv[i] = 1.0 / Math.Pow(Theta, 2.0 * i / dim);

        switch (Type)
        {
            case "default":
                return inv;
            case "linear":
                for (int i = 0; i < half; i++) inv[i] /= Factor;
                return inv;
            case "llama3":
                return Llama3(inv);
            case "longrope":
                var (factors, field) = longFactors ? (LongFactor, "long_factor") : (ShortFactor, "short_factor");
                if (factors is null || factors.Length != half)
                    throw new ExportException($"longrope: {field} has {factors?.Length ?? 0} entries; a rotated dim of {dim} needs {half}.");
                for (int i = 0; i < half; i++) inv[i] /= factors[i];
                return inv;
            default:
                throw new ExportException($"Unsupported rope type '{Type}'; supported: {string.Join(", ", SupportedTypes)}.");
        }
    }

    // transformers' _compute_llama3_parameters: long wavelengths are divided by the factor, short ones
    // kept, and the band between them interpolated by a smooth factor.
    private double[] Llama3(double[] inv)
    {
        double lowFreqWavelen = OriginalMaxPositionEmbeddings / LowFreqFactor;
        double highFreqWavelen = OriginalMaxPositionEmbeddings / HighFreqFactor;
        var result = new double[inv.Length];
        for (int i = 0; i < inv.Length; i++)
        {
            double wavelen = 2 * Math.PI / inv[i];
            double scaled = wavelen > lowFreqWavelen ? inv[i] / Factor : inv[i];
            bool isMedium = !(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen);
            if (isMedium)
            {
                double smooth = (OriginalMaxPositionEmbeddings / wavelen - LowFreqFactor) / (HighFreqFactor - LowFreqFactor);
                scaled = (1 - smooth) * scaled / Factor + smooth * scaled;
            }
            result[i] = scaled;
        }
        return result;
    }
}
