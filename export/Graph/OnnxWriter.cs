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
    /// <summary>com.microsoft opset, imported only by graphs with contrib ops (MatMulNBits).</summary>
    public const long ContribOpsetVersion = 1;
    /// <summary>Tensors below this many bytes stay inline: constants and norm weights of tiny models.</summary>
    public const int ExternalThreshold = 1024;
    private const int Alignment = 4096;

    /// <summary>Writes <paramref name="modelPath"/> and, beside it, <paramref name="dataFileName"/>; a graph written
    /// without a data file (null) must have only small initializers.</summary>
    public static ModelProto Write(GraphBuilder graph, string modelPath, string? dataFileName, string graphName)
    {
        var g = new GraphProto { Name = graphName };
        g.Node.AddRange(graph.Nodes);
        g.Input.AddRange(graph.Inputs);
        g.Output.AddRange(graph.Outputs);

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

        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "Condensa.Export",
            ProducerVersion = "1",
            Graph = g,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = OpsetVersion });
        if (graph.Nodes.Any(n => n.Domain == ContribOps.Domain))
            model.OpsetImport.Add(new OperatorSetIdProto { Domain = ContribOps.Domain, Version = ContribOpsetVersion });

        using (var stream = new FileStream(modelPath, FileMode.Create, FileAccess.Write))
            model.WriteTo(stream);
        return model;
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
