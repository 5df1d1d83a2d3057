namespace Condensa.Export;

/// <summary>
/// How linear weights are block-quantized for com.microsoft MatMulNBits: <see cref="Bits"/> per weight, one float
/// scale and one zero point per <see cref="BlockSize"/> consecutive weights along K (the input dimension).
/// </summary>
/// <param name="Bits">4 or 8.</param>
/// <param name="BlockSize">Weights per block along K: a power of two, at least 16.</param>
/// <param name="AccuracyLevel">MatMulNBits <c>accuracy_level</c>: 0 keeps A in float; 4 lets the CPU provider quantize A
/// to int8 per block internally (faster integer dot products, a little activation error).</param>
/// <param name="LmHead">Whether lm_head is quantized too (for tied embeddings a quantized copy is added; the embedding
/// table itself stays float for the Gather).</param>
/// <param name="Mix">With 4 bits: which weights are kept at 8 bits instead (<see cref="Int4Mix"/>).</param>
public sealed record WeightQuantization(int Bits, int BlockSize = 32, int AccuracyLevel = 0, bool LmHead = true, Int4Mix Mix = Int4Mix.None)
{
    /// <summary>The largest code, 2^bits - 1.</summary>
    public int MaxCode => (1 << Bits) - 1;

    /// <summary>Blocks per output row: ceil(K / block size).</summary>
    public int BlocksPerRow(int k) => (k + BlockSize - 1) / BlockSize;

    /// <summary>Bytes of one block of codes.</summary>
    public int BlobSize => BlockSize * Bits / 8;

    /// <summary>Bytes per row of the packed zero points (two 4-bit points per byte, low nibble first).</summary>
    public int ZeroPointBytesPerRow(int k) => (BlocksPerRow(k) * Bits + 7) / 8;

    /// <summary>
    /// The settings of one weight, <paramref name="projection"/> a WeightMap projection (WeightMap.LmHead for lm_head):
    /// these, at 8 bits where <see cref="Mix"/> keeps that projection at 8 bits.
    /// </summary>
    internal WeightQuantization For(string projection) =>
        Bits == 4 && Int4Mixes.RaisesToEightBits(Mix, projection) ? this with { Bits = 8, Mix = Int4Mix.None } : this;

    /// <summary>Checks the settings MatMulNBits accepts.</summary>
    /// <exception cref="ArgumentException">Bits not 4 or 8, a block size that is not a power of two of at least 16,
    /// an accuracy level outside 0..4, or an int4 mix with 8 bits.</exception>
    public void Validate()
    {
        if (Bits is not (4 or 8)) throw new ArgumentException($"quantization bits {Bits} is not 4 or 8.", nameof(Bits));
        if (BlockSize < 16 || (BlockSize & (BlockSize - 1)) != 0)
            throw new ArgumentException($"quantization block size {BlockSize} is not a power of two of at least 16.", nameof(BlockSize));
        if (AccuracyLevel is < 0 or > 4) throw new ArgumentException($"accuracy level {AccuracyLevel} is outside 0..4.", nameof(AccuracyLevel));
        if (Mix != Int4Mix.None && Bits != 4)
            throw new ArgumentException($"int4 mix '{Int4Mixes.Name(Mix)}' needs 4 bits, not {Bits}.", nameof(Mix));
    }
}
