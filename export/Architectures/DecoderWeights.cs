using Condensa.Export.Onnx;

namespace Condensa.Export;

/// <summary>
/// Turns checkpoint tensors into graph initializers of the model dtype. Shapes are checked when a weight is
/// registered (from the safetensors header only), so a wrong checkpoint fails before anything is written;
/// the data itself is read, converted and transposed lazily when the writer streams it out.
/// </summary>
internal sealed class DecoderWeights(SafeTensorsReader reader, TensorProto.Types.DataType modelType, WeightQuantization? quantization = null)
{
    public TensorProto.Types.DataType ModelType => modelType;

    /// <summary>How linear weights are quantized (MatMulNBits), or null for plain MatMul weights of the model dtype.</summary>
    public WeightQuantization? Quantization => quantization;

    private readonly Dictionary<string, (string Source, long FirstRow, long Rows)> _rowSlices = [];

    /// <summary>Whether the checkpoint has the tensor (e.g. an untied lm_head), or it is a registered row slice.</summary>
    public bool Contains(string name) => _rowSlices.ContainsKey(name) || reader.Contains(name);

    /// <summary>
    /// Makes <paramref name="alias"/> the rows [firstRow, firstRow + rows) of the stored 2-D tensor <paramref name="source"/>:
    /// a checkpoint that stores projections fused (Phi-3's qkv_proj and gate_up_proj) reads as the separate ones the graph
    /// builder knows, and every path (merging, quantization) stays the same.
    /// </summary>
    public void AddRowSlice(string alias, string source, long firstRow, long rows)
    {
        var shape = reader.Info(source).Shape;
        if (shape.Length != 2 || firstRow + rows > shape[0])
            throw new ExportException($"Tensor '{source}' has shape {reader.Info(source).ShapeText}; it has no rows {firstRow}..{firstRow + rows} for '{alias}' (from config.json).");
        _rowSlices[alias] = (source, firstRow, rows);
    }

    /// <summary>A tensor stored as is, after a shape check: [dims].</summary>
    public string Tensor(GraphBuilder b, string name, params long[] dims)
    {
        CheckShape(name, dims);
        return b.AddInitializer(name, modelType, dims, s => TensorBytes.Write(s, Read(name), modelType));
    }

    /// <summary>A tensor with 1 added to every element (Gemma's RMSNorm multiplies by 1 + weight): [dims].</summary>
    public string TensorPlusOne(GraphBuilder b, string name, params long[] dims)
    {
        CheckShape(name, dims);
        return b.AddInitializer(name, modelType, dims, s => TensorBytes.Write(s, [.. Read(name).Select(w => 1f + w)], modelType));
    }

    /// <summary>
    /// An <c>nn.Linear</c> weight, stored [out, in] in the checkpoint and transposed to [in, out] so the graph
    /// multiplies activations on the left with a plain MatMul.
    /// </summary>
    public string TransposedMatrix(GraphBuilder b, string name, int inDim, int outDim)
    {
        CheckShape(name, [outDim, inDim]);
        return b.AddInitializer(name, modelType, [inDim, outDim],
            s => TensorBytes.Write(s, TensorBytes.Transpose(Read(name), outDim, inDim), modelType));
    }

    /// <summary>
    /// An <c>nn.Linear</c> weight [out, in] block-quantized for MatMulNBits, which takes it in that layout (no transpose),
    /// under initializer names derived from <paramref name="initializerName"/> (default: the tensor's own name), at the
    /// bits <see cref="WeightQuantization.For"/> gives its <paramref name="projection"/> (a WeightMap name).
    /// </summary>
    public QuantizedWeightNames QuantizedMatrix(GraphBuilder b, string name, string projection, int inDim, int outDim, string? initializerName = null)
    {
        var settings = (quantization ?? throw new InvalidOperationException("the export is not quantized")).For(projection);
        CheckShape(name, [outDim, inDim]);
        return MatMulNBits.AddInitializers(b, initializerName ?? name, inDim, outDim, settings,
            () => BlockQuantizer.Quantize(Read(name), outDim, inDim, settings), modelType);
    }

    /// <summary>
    /// Several <c>nn.Linear</c> weights of one input (q, k and v; gate and up), [out_i, in] each in the checkpoint, stored
    /// as one [in, Σ out_i] matrix under <paramref name="initializerName"/>: one GEMM launch instead of several, its
    /// output columns in the order given.
    /// </summary>
    public string MergedTransposedMatrix(GraphBuilder b, string initializerName, IReadOnlyList<string> names, int inDim, IReadOnlyList<int> outDims)
    {
        for (int i = 0; i < names.Count; i++) CheckShape(names[i], [outDims[i], inDim]);
        int total = outDims.Sum();
        return b.AddInitializer(initializerName, modelType, [inDim, total],
            s => TensorBytes.Write(s, TensorBytes.Transpose(Stacked(names, inDim, total), total, inDim), modelType));
    }

    /// <summary>Merged weights as <see cref="MergedTransposedMatrix"/>, block-quantized for MatMulNBits ([Σ out_i, in], no
    /// transpose) at <paramref name="settings"/>, which every part must share.</summary>
    public QuantizedWeightNames MergedQuantizedMatrix(GraphBuilder b, string initializerName, IReadOnlyList<string> names, int inDim,
        IReadOnlyList<int> outDims, WeightQuantization settings)
    {
        for (int i = 0; i < names.Count; i++) CheckShape(names[i], [outDims[i], inDim]);
        int total = outDims.Sum();
        return MatMulNBits.AddInitializers(b, initializerName, inDim, total, settings,
            () => BlockQuantizer.Quantize(Stacked(names, inDim, total), total, inDim, settings), modelType);
    }

    /// <summary>Biases [out_i] of merged projections, concatenated: [Σ out_i].</summary>
    public string MergedTensor(GraphBuilder b, string initializerName, IReadOnlyList<string> names, IReadOnlyList<int> sizes)
    {
        for (int i = 0; i < names.Count; i++) CheckShape(names[i], [sizes[i]]);
        return b.AddInitializer(initializerName, modelType, [sizes.Sum()],
            s => TensorBytes.Write(s, [.. names.SelectMany(Read)], modelType));
    }

    // The [out_i, in] matrices one below the other: [Σ out_i, in].
    private float[] Stacked(IReadOnlyList<string> names, int inDim, int total)
    {
        var stacked = new float[(long)total * inDim];
        long offset = 0;
        foreach (var name in names)
        {
            var part = Read(name);
            part.CopyTo(stacked, offset);
            offset += part.Length;
        }
        return stacked;
    }

    private void CheckShape(string name, long[] expected)
    {
        IReadOnlyList<long> shape = _rowSlices.TryGetValue(name, out var slice) ? [slice.Rows, reader.Info(slice.Source).Shape[1]] : reader.Info(name).Shape;
        if (!shape.SequenceEqual(expected))
            throw new ExportException(
                $"Tensor '{name}' has shape [{string.Join(", ", shape)}], expected [{string.Join(", ", expected)}] (from config.json).");
    }

    // A stored tensor as float32, or a registered row slice of one.
    private float[] Read(string name)
    {
        if (!_rowSlices.TryGetValue(name, out var slice)) return reader.ReadFloat32(name);
        long columns = reader.Info(slice.Source).Shape[1];
        return reader.ReadFloat32(slice.Source).AsSpan((int)(slice.FirstRow * columns), (int)(slice.Rows * columns)).ToArray();
    }
}
