using System.Globalization;
using Condensa.Runtime;
using Google.Protobuf;

namespace Condensa.Cli.Bench;

/// <summary>
/// The weight bytes one decode step reads, from the graph's own initializers (inline or in external data):
/// every initializer that some node reads whole (MatMul, MatMulNBits, norms, a tied lm_head's Transpose) is
/// streamed once per step; one read only by row (a Gather's data, the embedding table; RotaryEmbedding's cos and sin
/// caches) gives a step just the rows of its tokens, so it counts apart, as gathered. A tied embedding feeds both a
/// Gather and the lm_head, and so is streamed; a quantized tied lm_head is its own initializer, and the float table
/// beside it is only gathered.
/// </summary>
/// <param name="StreamedBytes">Bytes of the initializers read whole each step.</param>
/// <param name="GatheredBytes">Bytes of the tables read only by row (one row per token).</param>
/// <param name="Nodes">Nodes of the exported graph (ONNX Runtime fuses some at load); on a GPU each is a launch.</param>
internal sealed record StepWeights(long StreamedBytes, long GatheredBytes, int Nodes)
{
    // ONNX field numbers (onnx.proto): ModelProto.graph; GraphProto.node, .initializer; NodeProto.input, .op_type;
    // TensorProto.dims, .data_type, .name, .raw_data, .external_data; StringStringEntryProto.key, .value.
    private const int ModelGraph = 7, GraphNode = 1, GraphInitializer = 5, NodeInput = 1, NodeOpType = 4;
    private const int TensorDims = 1, TensorDataType = 2, TensorName = 8, TensorRawData = 9, TensorExternalData = 13;
    private const int EntryKey = 1, EntryValue = 2;

    /// <summary>Reads the graph of the export in <paramref name="exportDir"/> (<see cref="ModelManifest.Graph"/>).</summary>
    public static StepWeights Of(string exportDir, ModelManifest manifest) => Read(Path.Combine(exportDir, manifest.Graph));

    /// <summary>Reads the ONNX file at <paramref name="graphPath"/>; the external data file itself is not opened.</summary>
    public static StepWeights Read(string graphPath)
    {
        var sizes = new Dictionary<string, long>();
        var consumers = new Dictionary<string, (bool Gather, bool Other)>();
        var nodes = 0;
        using (var file = File.OpenRead(graphPath))
        {
            var model = new CodedInputStream(file);
            for (uint tag; (tag = model.ReadTag()) != 0;)
            {
                if (WireFormat.GetTagFieldNumber(tag) != ModelGraph) { model.SkipLastField(); continue; }
                var graph = model.ReadBytes().CreateCodedInput();
                for (uint g; (g = graph.ReadTag()) != 0;)
                {
                    switch (WireFormat.GetTagFieldNumber(g))
                    {
                        case GraphNode: Node(graph.ReadBytes(), consumers); nodes++; break;
                        case GraphInitializer:
                            var (name, bytes) = Tensor(graph.ReadBytes(), graphPath);
                            sizes[name] = bytes;
                            break;
                        default: graph.SkipLastField(); break;
                    }
                }
            }
        }
        long streamed = 0, gathered = 0;
        foreach (var (name, bytes) in sizes)
        {
            // an initializer no node reads (ONNX Runtime drops it) costs nothing
            if (!consumers.TryGetValue(name, out var use)) continue;
            if (use.Other) streamed += bytes;
            else gathered += bytes;
        }
        return new StepWeights(streamed, gathered, nodes);
    }

    // Records, for every input of the node, whether it is read as a Gather's data (input 0) or otherwise.
    private static void Node(ByteString node, Dictionary<string, (bool Gather, bool Other)> consumers)
    {
        var inputs = new List<string>();
        var opType = "";
        var input = node.CreateCodedInput();
        for (uint tag; (tag = input.ReadTag()) != 0;)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case NodeInput: inputs.Add(input.ReadString()); break;
                case NodeOpType: opType = input.ReadString(); break;
                default: input.SkipLastField(); break;
            }
        }
        for (var i = 0; i < inputs.Count; i++)
        {
            if (inputs[i].Length == 0) continue;                        // an omitted optional input
            var use = consumers.GetValueOrDefault(inputs[i]);
            consumers[inputs[i]] = GathersRows(opType, i) ? use with { Gather = true } : use with { Other = true };
        }
    }

    // Inputs a node reads only by row: a Gather's data (the embedding table) and the cos and sin caches of RotaryEmbedding
    // and GroupQueryAttention (the rows of the tokens' positions).
    private static bool GathersRows(string opType, int input) =>
        (opType == "Gather" && input == 0) || (opType == "RotaryEmbedding" && input >= 2) || (opType == "GroupQueryAttention" && input is 7 or 8);

    // An initializer's name and byte size: the external data's length, else the inline raw data's, else its
    // element count times the element size (values stored in the typed fields).
    private static (string Name, long Bytes) Tensor(ByteString tensor, string graphPath)
    {
        var name = "";
        long elements = 1;
        int dataType = 0;
        long? raw = null, external = null;
        var input = tensor.CreateCodedInput();
        for (uint tag; (tag = input.ReadTag()) != 0;)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case TensorDims when WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited:
                    var packed = input.ReadBytes().CreateCodedInput();
                    while (!packed.IsAtEnd) elements *= packed.ReadInt64();
                    break;
                case TensorDims: elements *= input.ReadInt64(); break;
                case TensorDataType: dataType = input.ReadInt32(); break;
                case TensorName: name = input.ReadString(); break;
                case TensorRawData: raw = input.ReadBytes().Length; break;
                case TensorExternalData:
                    var (key, value) = Entry(input.ReadBytes());
                    if (key == "length") external = long.Parse(value, CultureInfo.InvariantCulture);
                    break;
                default: input.SkipLastField(); break;
            }
        }
        return (name, external ?? raw ?? elements * ElementSize(dataType, name, graphPath));
    }

    private static (string Key, string Value) Entry(ByteString entry)
    {
        string key = "", value = "";
        var input = entry.CreateCodedInput();
        for (uint tag; (tag = input.ReadTag()) != 0;)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case EntryKey: key = input.ReadString(); break;
                case EntryValue: value = input.ReadString(); break;
                default: input.SkipLastField(); break;
            }
        }
        return (key, value);
    }

    // TensorProto.DataType: float, uint8, int8, uint16, int16, int32, int64, bool, float16, double, uint32, uint64, bfloat16.
    private static long ElementSize(int dataType, string name, string graphPath) => dataType switch
    {
        2 or 3 or 9 => 1,
        4 or 5 or 10 or 16 => 2,
        1 or 6 or 12 => 4,
        7 or 11 or 13 => 8,
        _ => throw new CondensaException($"{graphPath}: initializer '{name}' has data type {dataType}, whose size bench does not know."),
    };
}
