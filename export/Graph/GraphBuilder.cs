using System.Globalization;
using System.Runtime.InteropServices;
using Condensa.Export.Onnx;

namespace Condensa.Export;

/// <summary>
/// Builds an ONNX graph: nodes named by path (<c>/model/layers.0/attn/q_proj/MatMul</c>, via
/// <see cref="Scope"/>), small constants deduplicated by value, weights kept as lazy initializers, and the
/// graph's inputs and outputs with symbolic dims. <see cref="OnnxWriter"/> turns it into files.
/// </summary>
internal sealed class GraphBuilder
{
    private readonly List<string> _scopes = [];
    private readonly HashSet<string> _nodeNames = [];
    private readonly Dictionary<string, string> _constants = [];
    private readonly HashSet<string> _initializerNames = [];

    public List<NodeProto> Nodes { get; } = [];
    public List<Initializer> Initializers { get; } = [];
    public List<ValueInfoProto> Inputs { get; } = [];
    public List<ValueInfoProto> Outputs { get; } = [];

    /// <summary>Enters a path segment for the names of the nodes created until the result is disposed.</summary>
    public IDisposable Scope(string segment)
    {
        _scopes.Add(segment);
        return new PopScope(_scopes);
    }

    /// <summary>
    /// Adds a node <c>{scope}/{name}</c> and returns its output value names: <c>{node}/output_{k}</c>, or the entry of
    /// <paramref name="outputNames"/> where that is not null (a graph output's name, or "" for an optional output the
    /// graph does not want).
    /// </summary>
    public string[] NodeN(string opType, string name, string[] inputs, int outputCount, AttributeProto[]? attributes = null,
        string?[]? outputNames = null, string domain = "")
    {
        string nodeName = UniqueName("/" + string.Join("/", _scopes.Append(name)));
        var node = new NodeProto { Name = nodeName, OpType = opType, Domain = domain };
        node.Input.AddRange(inputs);
        var outputs = Enumerable.Range(0, outputCount).Select(k => outputNames?[k] ?? $"{nodeName}/output_{k}").ToArray();
        node.Output.AddRange(outputs);
        if (attributes is not null) node.Attribute.AddRange(attributes);
        Nodes.Add(node);
        return outputs;
    }

    /// <summary>Adds a single-output node; <paramref name="name"/> defaults to the op type.</summary>
    public string Node(string opType, string[] inputs, string? name = null, params AttributeProto[] attributes) =>
        NodeN(opType, name ?? opType, inputs, 1, attributes)[0];

    /// <summary>Adds a single-output node whose output has a fixed (graph output) name.</summary>
    public string NamedNode(string opType, string[] inputs, string name, string outputName, params AttributeProto[] attributes) =>
        NodeN(opType, name, inputs, 1, attributes, [outputName])[0];

    /// <summary>An int64 constant, deduplicated by value. A scalar when <paramref name="scalar"/>.</summary>
    public string ConstInt64(long[] values, bool scalar = false)
    {
        long[] dims = scalar ? [] : [values.Length];
        string key = "int64" + (scalar ? "_scalar_" : "_") + string.Join("_", values);
        return Constant(key, TensorProto.Types.DataType.Int64, dims, s => s.Write(MemoryMarshal.AsBytes(values.AsSpan())));
    }

    /// <summary>A scalar floating constant of <paramref name="type"/> (FLOAT or FLOAT16), deduplicated by value.</summary>
    public string ConstScalar(float value, TensorProto.Types.DataType type)
    {
        string key = $"{type}_scalar_{value.ToString("R", CultureInfo.InvariantCulture)}";
        return Constant(key, type, [], s => s.Write(TensorBytes.Encode([value], type)));
    }

    /// <summary>Registers a weight under its own name; its bytes are produced when the model is written.</summary>
    public string AddInitializer(string name, TensorProto.Types.DataType type, long[] dims, Action<Stream> produce)
    {
        if (!_initializerNames.Add(name)) throw new InvalidOperationException($"initializer '{name}' added twice");
        Initializers.Add(new Initializer(name, type, dims, produce));
        return name;
    }

    /// <summary>Declares a graph input; a dim is an int (fixed) or a string (symbolic).</summary>
    public string Input(string name, TensorProto.Types.DataType type, params object[] dims)
    {
        Inputs.Add(ValueInfo(name, type, dims));
        return name;
    }

    /// <summary>Declares a graph output.</summary>
    public void Output(string name, TensorProto.Types.DataType type, params object[] dims) => Outputs.Add(ValueInfo(name, type, dims));

    private string Constant(string key, TensorProto.Types.DataType type, long[] dims, Action<Stream> produce)
    {
        if (_constants.TryGetValue(key, out string? existing)) return existing;
        string name = "/constants/" + key;
        AddInitializer(name, type, dims, produce);
        _constants[key] = name;
        return name;
    }

    private string UniqueName(string name)
    {
        if (_nodeNames.Add(name)) return name;
        for (int k = 1; ; k++)
            if (_nodeNames.Add($"{name}_{k}")) return $"{name}_{k}";
    }

    private static ValueInfoProto ValueInfo(string name, TensorProto.Types.DataType type, object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
            shape.Dim.Add(d switch
            {
                int v => new TensorShapeProto.Types.Dimension { DimValue = v },
                long v => new TensorShapeProto.Types.Dimension { DimValue = v },
                string p => new TensorShapeProto.Types.Dimension { DimParam = p },
                _ => throw new ArgumentException($"dim {d} of '{name}' is neither int nor string", nameof(dims)),
            });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }

    private sealed class PopScope(List<string> scopes) : IDisposable
    {
        private bool _done;
        public void Dispose()
        {
            if (_done) return;
            scopes.RemoveAt(scopes.Count - 1);
            _done = true;
        }
    }
}
