namespace Condensa.Export;

/// <summary>Where and how one tensor is stored in a safetensors file.</summary>
/// <param name="Name">The tensor's name, e.g. "model.layers.0.self_attn.q_proj.weight".</param>
/// <param name="Dtype">Element type.</param>
/// <param name="Shape">Dimensions, outermost first.</param>
/// <param name="File">Path of the .safetensors file that holds it.</param>
/// <param name="Offset">Byte offset of the data from the start of the file.</param>
/// <param name="Length">Byte length of the data.</param>
public sealed record SafeTensorInfo(string Name, SafeTensorDtype Dtype, long[] Shape, string File, long Offset, long Length)
{
    /// <summary>Number of elements (product of the shape; 1 for a scalar).</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>The shape as "[a, b]" for error messages.</summary>
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}
