namespace Condensa.Export;

/// <summary>
/// Which linear weights of an int4 export are stored at 8 bits instead (MatMulNBits takes its bits per node), like
/// llama.cpp's Q4_K_M keeps its most sensitive tensors at 6 bits. On demo-code each projection type was raised to
/// 8 bits alone and the KL divergence from fp32 measured (docs/benchmarks.md, quantized weights): v_proj, lm_head
/// and down_proj matter most, and k_proj and v_proj cost least to keep, since grouped-query attention makes them
/// small (2.2 % of TinyLlama-1.1B's linear weights together; lm_head 6.3 %, down_proj 24.5 %).
/// </summary>
public enum Int4Mix
{
    /// <summary>Every quantized weight at 4 bits.</summary>
    None,
    /// <summary>k_proj and v_proj at 8 bits.</summary>
    Kv,
    /// <summary>k_proj, v_proj and lm_head at 8 bits (the default).</summary>
    KvHead,
}

/// <summary>The weights each <see cref="Int4Mix"/> raises to 8 bits, and the mixes' names on the command line and in
/// condensa.json.</summary>
public static class Int4Mixes
{
    // The WeightMap projections (lm_head: WeightMap.LmHead, tied or not) each mix keeps at 8 bits.
    private static readonly Dictionary<Int4Mix, (string Name, string[] EightBit)> Table = new()
    {
        [Int4Mix.None] = ("none", []),
        [Int4Mix.Kv] = ("kv", [WeightMap.KProj, WeightMap.VProj]),
        [Int4Mix.KvHead] = ("kv-head", [WeightMap.KProj, WeightMap.VProj, WeightMap.LmHead]),
    };

    /// <summary>Every mix's name: none, kv, kv-head.</summary>
    public static IReadOnlyList<string> Names => [.. Table.Values.Select(e => e.Name)];

    /// <summary>The name of <paramref name="mix"/>, e.g. "kv-head".</summary>
    public static string Name(Int4Mix mix) => Table[mix].Name;

    /// <summary>The mix called <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">No mix has that name.</exception>
    public static Int4Mix Parse(string name)
    {
        foreach (var (mix, entry) in Table)
            if (entry.Name == name) return mix;
        throw new ArgumentException($"int4 mix '{name}' is not one of {string.Join(", ", Names)}.", nameof(name));
    }

    /// <summary>Whether <paramref name="mix"/> keeps <paramref name="projection"/> (a WeightMap name) at 8 bits.</summary>
    internal static bool RaisesToEightBits(Int4Mix mix, string projection) => Table[mix].EightBit.Contains(projection);
}
