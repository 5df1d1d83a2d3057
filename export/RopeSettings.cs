namespace Condensa.Export;

/// <summary>
/// Rotary embedding settings of a checkpoint, normalised from either transformers layout
/// (v4 <c>rope_theta</c> + <c>rope_scaling</c>, v5 <c>rope_parameters</c>).
/// </summary>
/// <param name="Type">"default", "linear" or "llama3".</param>
/// <param name="Theta">The base of the inverse frequencies.</param>
/// <param name="Factor">Scaling factor (linear, llama3); 1 for default.</param>
/// <param name="LowFreqFactor">llama3 only.</param>
/// <param name="HighFreqFactor">llama3 only.</param>
/// <param name="OriginalMaxPositionEmbeddings">llama3 only: the context length the model was trained at.</param>
public sealed record RopeSettings(
    string Type,
    double Theta,
    double Factor = 1.0,
    double LowFreqFactor = 1.0,
    double HighFreqFactor = 4.0,
    int OriginalMaxPositionEmbeddings = 8192)
{
    /// <summary>Rope types the exporter implements; anything else is an <see cref="ExportException"/>.</summary>
    public static readonly IReadOnlyList<string> SupportedTypes = ["default", "linear", "llama3"];

    /// <summary>
    /// The inverse frequencies for a head of <paramref name="headDim"/> (length headDim / 2), computed
    /// exactly as transformers' rope init functions do, in float64.
    /// </summary>
    public double[] InverseFrequencies(int headDim)
    {
        int half = headDim / 2;
        var inv = new double[half];
        for (int i = 0; i < half; i++)
            inv[i] = 1.0 / Math.Pow(Theta, 2.0 * i / headDim);

        switch (Type)
        {
            case "default":
                return inv;
            case "linear":
                for (int i = 0; i < half; i++) inv[i] /= Factor;
                return inv;
            case "llama3":
                return Llama3(inv);
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
