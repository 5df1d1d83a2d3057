namespace Condensa.TestSupport;

/// <summary>
/// A dense tensor for <see cref="OnnxGraphRunner"/>: floating data as float32 whatever the graph's dtype
/// (the runner converts to and from float16), integer data as int64.
/// </summary>
/// <param name="Shape">Dimensions.</param>
/// <param name="Floats">Floating data, row-major, or null.</param>
/// <param name="Longs">Integer data, row-major, or null.</param>
public sealed record GraphTensor(long[] Shape, float[]? Floats = null, long[]? Longs = null)
{
    /// <summary>A floating tensor.</summary>
    public static GraphTensor Of(float[] data, params long[] shape) => new(shape, Floats: data);

    /// <summary>An int64 tensor.</summary>
    public static GraphTensor Of(long[] data, params long[] shape) => new(shape, Longs: data);

    /// <summary>The floating data (throws if this is an integer tensor).</summary>
    public float[] F => Floats ?? throw new InvalidOperationException("not a floating tensor");
}
