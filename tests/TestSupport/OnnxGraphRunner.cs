using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Condensa.TestSupport;

/// <summary>
/// Runs an exported graph on the ONNX Runtime CPU provider with plain arrays in and out, so export tests
/// can check logits and KV without the Runtime project.
/// </summary>
public sealed class OnnxGraphRunner : IDisposable
{
    private readonly InferenceSession _session;

    /// <summary>Opens <paramref name="modelPath"/> (external data is found beside it).</summary>
    public OnnxGraphRunner(string modelPath)
    {
        using var options = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
        _session = new InferenceSession(modelPath, options);
    }

    /// <summary>The graph's input names in order.</summary>
    public IReadOnlyList<string> InputNames => _session.InputNames;

    /// <summary>The graph's output names in order.</summary>
    public IReadOnlyList<string> OutputNames => _session.OutputNames;

    /// <summary>The element type the graph declares for an input or output.</summary>
    public TensorElementType ElementType(string name) =>
        (_session.InputMetadata.TryGetValue(name, out var m) ? m : _session.OutputMetadata[name]).ElementDataType;

    /// <summary>Runs the graph once and returns every output.</summary>
    public Dictionary<string, GraphTensor> Run(IReadOnlyDictionary<string, GraphTensor> inputs)
    {
        var values = new List<OrtValue>();
        try
        {
            var names = new List<string>();
            foreach (var (name, tensor) in inputs)
            {
                names.Add(name);
                values.Add(ToOrt(tensor, ElementType(name)));
            }
            using var runOptions = new RunOptions();
            using var outputs = _session.Run(runOptions, names, values, _session.OutputNames);
            var result = new Dictionary<string, GraphTensor>();
            for (int i = 0; i < outputs.Count; i++)
                result[_session.OutputNames[i]] = FromOrt(outputs[i]);
            return result;
        }
        finally
        {
            foreach (var v in values) v.Dispose();
        }
    }

    private static OrtValue ToOrt(GraphTensor t, TensorElementType type) => type switch
    {
        TensorElementType.Int64 => OrtValue.CreateTensorValueFromMemory(t.Longs ?? throw new ArgumentException("int64 input needs Longs"), t.Shape),
        TensorElementType.Float => OrtValue.CreateTensorValueFromMemory(t.F, t.Shape),
        TensorElementType.Float16 => OrtValue.CreateTensorValueFromMemory(Array.ConvertAll(t.F, v => (Float16)v), t.Shape),
        _ => throw new NotSupportedException($"element type {type}"),
    };

    private static GraphTensor FromOrt(OrtValue v)
    {
        var info = v.GetTensorTypeAndShape();
        long[] shape = info.Shape;
        return info.ElementDataType switch
        {
            TensorElementType.Float => GraphTensor.Of(v.GetTensorDataAsSpan<float>().ToArray(), shape),
            TensorElementType.Float16 => GraphTensor.Of(v.GetTensorDataAsSpan<Float16>().ToArray().Select(h => (float)h).ToArray(), shape),
            TensorElementType.Int64 => GraphTensor.Of(v.GetTensorDataAsSpan<long>().ToArray(), shape),
            var other => throw new NotSupportedException($"element type {other}"),
        };
    }

    /// <summary>Releases the session.</summary>
    public void Dispose() => _session.Dispose();
}
