using System.Globalization;
using Microsoft.ML.OnnxRuntime;

namespace Condensa.Runtime.Capture;

/// <summary>
/// Which passes of a model are captured as CUDA graphs and under which ids. ONNX Runtime captures a run the first times
/// it sees a new <c>gpu_graph_id</c> and replays that graph for every later run with the id, reading and writing the
/// addresses it captured; so a graph belongs to one pass shape (rows × new tokens × logits) over one set of buffers
/// (a cache's capacity and generation), and a new shape or a regrown cache takes a new id. Prefill chunks are not
/// captured: their shapes rarely repeat, and their kernels are long enough that launches do not dominate.
/// </summary>
internal sealed class GraphCapture
{
    /// <summary>
    /// The most new tokens per row of a captured pass: decode (1), chain verification (γ + 1) and the trees of
    /// speculative decoding stay under it; prefill chunks are larger.
    /// </summary>
    public const int MaxCapturedTokens = 32;

    /// <summary>
    /// The most graphs one model captures; later shapes run uncaptured. ONNX Runtime keeps every captured graph until
    /// the session closes (its intermediates live in the session's arena, shared by every run), and a long run regrows
    /// its cache every chunk of slots, each time with new graphs: a bound keeps a long-lived model from accumulating them
    /// without limit. 256 was too few for one bench process over issue 18's grid (round 36: the self drafter reached it
    /// eight cells into twelve, and the last column's one-row drafts ran uncaptured at half speed).
    /// </summary>
    public const int MaxGraphs = 1024;

    private int _issued;

    public GraphCapture(OrtMemoryInfo memoryInfo, int deviceId)
    {
        MemoryInfo = memoryInfo;
        DeviceId = deviceId;
    }

    /// <summary>Memory info of the device buffers that captured passes bind.</summary>
    public OrtMemoryInfo MemoryInfo { get; }

    /// <summary>The CUDA device the buffers live on.</summary>
    public int DeviceId { get; }

    /// <summary>Whether a pass of <paramref name="seqLen"/> new tokens per row is captured.</summary>
    public static bool Captures(int seqLen) => seqLen is >= 1 and <= MaxCapturedTokens;

    /// <summary>Graph ids issued so far (at most <see cref="MaxGraphs"/>): the passes captured, each once.</summary>
    public int Issued => Math.Min(Volatile.Read(ref _issued), MaxGraphs);

    /// <summary>A fresh graph id, or -1 (run uncaptured) once <see cref="MaxGraphs"/> are issued.</summary>
    public int NextId()
    {
        var id = Interlocked.Increment(ref _issued) - 1;
        return id < MaxGraphs ? id : -1;
    }

    /// <summary>Run options that select graph <paramref name="graphId"/> (-1: an ordinary run, neither captured nor replayed).
    /// A session with capture on must name an id on every run: without one ONNX Runtime uses graph 0.</summary>
    public static RunOptions Options(int graphId)
    {
        var options = new RunOptions();
        options.AddRunConfigEntry("gpu_graph_id", graphId.ToString(CultureInfo.InvariantCulture));
        return options;
    }
}
