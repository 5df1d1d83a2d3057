using System.Globalization;
using Condensa.Export.Onnx;
using Google.Protobuf;

namespace Condensa.Export;

/// <summary>
/// Writes a <see cref="GraphBuilder"/>'s graph as <c>model.onnx</c> plus ONNX external data: every
/// initializer of at least <see cref="ExternalThreshold"/> bytes goes to the data file at a page-aligned
/// offset (so runtimes can memory-map it), the rest stays inline. The protobuf stays small, far from its
/// 2 GB limit, whatever the model size.
/// </summary>
internal static class OnnxWriter
{
    /// <summary>ONNX IR version 10 (ONNX 1.16), which opset 21 requires.</summary>
    public const long IrVersion = 10;
    /// <summary>ai.onnx opset: 21 has every op the graph uses (Split with num_outputs, ReduceMean with axes input).</summary>
    public const long OpsetVersion = 21;
    /// <summary>ai.onnx opset of a graph with Attention or TensorScatter (the multi-row causal graph): 24, where Attention
    /// takes nonpad_kv_seqlen and TensorScatter appeared.</summary>
    public const long AttentionOpsetVersion = 24;
    /// <summary>com.microsoft opset, imported only by graphs with contrib ops (MatMulNBits).</summary>
    public const long ContribOpsetVersion = 1;
    /// <summary>Tensors below this many bytes stay inline: constants and norm weights of tiny models.</summary>
    public const int ExternalThreshold = 1024;
    private const int Alignment = 4096;

    /// <summary>Writes <paramref name="modelPath"/> and, beside it, <paramref name="dataFileName"/>; a graph written
    /// without a data file (null) must have only small initializers.</summary>
    public static ModelProto Write(GraphBuilder graph, string modelPath, string? dataFileName, string graphName) =>
        Save(NewModel(graph, graphName, g => AddInitializers(g, graph, modelPath, dataFileName)), modelPath);

    /// <summary>
    /// Writes a second graph over the same weights as <paramref name="first"/> (written by <see cref="Write"/>): each of
    /// its initializers that <paramref name="first"/> stores externally, by name, points at the same bytes of the same
    /// data file, so the weights are on disk once; the rest must be small and are stored inline.
    /// </summary>
    public static ModelProto WriteSharingWeights(GraphBuilder graph, string modelPath, ModelProto first, string graphName)
    {
        var external = first.Graph.Initializer.Where(t => t.DataLocation == TensorProto.Types.DataLocation.External).ToDictionary(t => t.Name);
        return Save(NewModel(graph, graphName, g =>
        {
            foreach (var init in graph.Initializers)
            {
                if (external.TryGetValue(init.Name, out var shared))
                {
                    if (!shared.Dims.SequenceEqual(init.Dims) || shared.DataType != (int)init.DataType)
                        throw new InvalidOperationException($"initializer '{init.Name}' differs from the first graph's");
                    g.Initializer.Add(shared);
                }
                else if (init.ByteLength >= ExternalThreshold)
                {
                    throw new InvalidOperationException($"initializer '{init.Name}' ({init.ByteLength} bytes) is not among the first graph's weights");
                }
                else
                {
                    g.Initializer.Add(Tensor(init, data: null, dataFileName: ""));
                }
            }
        }), modelPath);
    }

    private static ModelProto NewModel(GraphBuilder graph, string graphName, Action<GraphProto> addInitializers)
    {
        var g = new GraphProto { Name = graphName };
        g.Node.AddRange(graph.Nodes);
        g.Input.AddRange(graph.Inputs);
        g.Output.AddRange(graph.Outputs);
        addInitializers(g);
        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "Condensa.Export",
            ProducerVersion = "1",
            Graph = g,
        };
        bool attention = graph.Nodes.Any(n => n.Domain == "" && n.OpType is "Attention" or "TensorScatter");
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = attention ? AttentionOpsetVersion : OpsetVersion });
        if (graph.Nodes.Any(n => n.Domain == ContribOps.Domain))
            model.OpsetImport.Add(new OperatorSetIdProto { Domain = ContribOps.Domain, Version = ContribOpsetVersion });
        return model;
    }

    private static ModelProto Save(ModelProto model, string modelPath)
    {
        using (var stream = new FileStream(modelPath, FileMode.Create, FileAccess.Write))
            model.WriteTo(stream);
        return model;
    }

    private static void AddInitializers(GraphProto g, GraphBuilder graph, string modelPath, string? dataFileName)
    {
        if (dataFileName is null)
        {
            if (graph.Initializers.FirstOrDefault(i => i.ByteLength >= ExternalThreshold) is { } large)
                throw new InvalidOperationException($"initializer '{large.Name}' ({large.ByteLength} bytes) needs a data file");
            foreach (var init in graph.Initializers) g.Initializer.Add(Tensor(init, data: null, dataFileName: ""));
        }
        else
        {
            string dataPath = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(modelPath))!, dataFileName);
            using var data = new FileStream(dataPath, FileMode.Create, FileAccess.Write);
            foreach (var init in graph.Initializers)
                g.Initializer.Add(Tensor(init, data, dataFileName));
        }
    }

    private static TensorProto Tensor(Initializer init, FileStream? data, string dataFileName)
    {
        var t = new TensorProto { Name = init.Name, DataType = (int)init.DataType };
        t.Dims.AddRange(init.Dims);
        if (init.ByteLength < ExternalThreshold || data is null)
        {
            using var inline = new MemoryStream();
            init.Produce(inline);
            CheckLength(init, inline.Length);
            t.RawData = ByteString.CopyFrom(inline.ToArray());
            return t;
        }

        long offset = (data.Position + Alignment - 1) / Alignment * Alignment;
        if (offset > data.Position) data.Write(new byte[offset - data.Position]);
        init.Produce(data);
        CheckLength(init, data.Position - offset);
        t.DataLocation = TensorProto.Types.DataLocation.External;
        t.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = dataFileName });
        t.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(CultureInfo.InvariantCulture) });
        t.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = init.ByteLength.ToString(CultureInfo.InvariantCulture) });
        return t;
    }

    private static void CheckLength(Initializer init, long written)
    {
        if (written != init.ByteLength)
            throw new InvalidOperationException($"initializer '{init.Name}' produced {written} bytes, its shape needs {init.ByteLength}");
    }
}
