using Condensa.Runtime.ExecutionProviders;
using Microsoft.ML.OnnxRuntime;

namespace Condensa.Runtime;

/// <summary>The graph a pass runs (docs/ARCHITECTURE.md, "The causal graphs").</summary>
internal enum PassGraph
{
    /// <summary>model.onnx: every pass.</summary>
    General,
    /// <summary>The slots graph: the general graph's inputs and outputs, for passes whose entries all get slots of their own.</summary>
    Slots,
    /// <summary>The causal graph (GroupQueryAttention): one token per row, or one row.</summary>
    Causal,
    /// <summary>The multi-row causal graph: several tokens in several rows.</summary>
    CausalRows,
}

/// <summary>
/// The ONNX Runtime sessions of one export and their I/O names: the general graph and, where fused attention applies
/// (<see cref="SessionSettings.FusedAttention"/>), the causal graph, the multi-row causal graph and the slots graph. The
/// causal graph is loaded first and the others at the first pass that needs them, since each session holds its own copy
/// of the weights: a batch-1 generation, a chat or an extraction job never loads them.
/// </summary>
internal sealed class DecoderSessions : IDisposable
{
    private readonly string _directory;
    private readonly ModelManifest _manifest;
    private readonly Lazy<InferenceSession> _general;
    private bool _generalCaptures;   // whether the general session captures (set when it loads)
    private readonly InferenceSession? _causal;
    private readonly Lazy<InferenceSession>? _causalRows;
    private readonly Lazy<InferenceSession>? _slots;
    private bool _slotsCaptures;     // whether the slots session captures (set when it loads)
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private readonly string[] _causalInputNames;
    private readonly string[] _causalOutputNames;
    private readonly string[] _outputNamesAfterLogits;          // for a greedy pass that does not fetch the logits
    private readonly string[] _causalOutputNamesAfterLogits;

    private DecoderSessions(string directory, ModelManifest manifest, ProviderFallback.Result first, SessionSettings settings)
    {
        _directory = directory;
        _manifest = manifest;
        First = first;
        Settings = settings;
        var layers = manifest.KvLayers;
        var pending = manifest.Condensation.PendingLayers;
        _inputNames = [GraphNames.InputIds, GraphNames.PositionIds, GraphNames.AttentionSpan, GraphNames.AttentionNew, GraphNames.LogitsIndex,
            GraphNames.KvWriteIndex, .. layers.SelectMany(l => new[] { GraphNames.PastKey(l), GraphNames.PastValue(l) }),
            .. pending.SelectMany(t => new[] { GraphNames.PendingKey(t), GraphNames.PendingValue(t) })];
        string[] head = manifest.HasGreedyTokens ? [GraphNames.Logits, GraphNames.GreedyTokens] : [GraphNames.Logits];
        _outputNames = [.. head, .. layers.SelectMany(l => new[] { GraphNames.NewKey(l), GraphNames.NewValue(l) }),
            .. layers.SelectMany(l => new[] { GraphNames.PresentKey(l), GraphNames.PresentValue(l) })];
        // exporter 15 on: the causal graphs rotate at position_ids, apart from the slots seqlens_k gives
        CausalTakesPositions = first.Graph != GeneralGraphPath && first.Session.InputMetadata.ContainsKey(GraphNames.PositionIds);
        string[] positions = CausalTakesPositions ? [GraphNames.PositionIds] : [];
        _causalInputNames = [GraphNames.InputIds, .. positions, GraphNames.LogitsIndex, GraphNames.SeqLensK, GraphNames.TotalSequenceLength,
            .. layers.SelectMany(l => new[] { GraphNames.PastKey(l), GraphNames.PastValue(l) })];
        _causalOutputNames = [.. head, .. layers.SelectMany(l => new[] { GraphNames.PresentKey(l), GraphNames.PresentValue(l) })];
        (_outputNamesAfterLogits, _causalOutputNamesAfterLogits) = (_outputNames[1..], _causalOutputNames[1..]);
        if (first.Graph == GeneralGraphPath)
        {
            CheckContract(first.Session, manifest.Graph, _inputNames, _outputNames);
            _general = new Lazy<InferenceSession>(first.Session);
            _generalCaptures = first.CapturesGraphs;
            if (manifest.SlotsGraph is { } slots && settings.UsesAttentionGraphs(first.Provider)) _slots = LazySlots(slots);
        }
        else
        {
            _causal = first.Session;
            CheckContract(_causal, manifest.CausalGraph!, _causalInputNames, _causalOutputNames);
            _general = new Lazy<InferenceSession>(() => LoadSession(manifest.Graph, _inputNames, _outputNames, out _generalCaptures),
                LazyThreadSafetyMode.ExecutionAndPublication);
            if (!settings.UsesAttentionGraphs(first.Provider)) return;
            if (manifest.CausalRowsGraph is { } rows)
            {
                var rowsKernels = RowsAttentionKernels(Environment.GetEnvironmentVariable(RowsKernelsVariable),   // a bad value fails at load
                    manifest.NumHeads / manifest.NumKvHeads);
                _causalRows = new Lazy<InferenceSession>(() => LoadSession(rows, _causalInputNames, _causalOutputNames, out _, rowsKernels),
                    LazyThreadSafetyMode.ExecutionAndPublication);
            }
            if (manifest.SlotsGraph is { } slots) _slots = LazySlots(slots);
        }
    }

    private Lazy<InferenceSession> LazySlots(string slots)
    {
        var kernels = SlotsAttentionKernels(Environment.GetEnvironmentVariable(SlotsKernelsVariable));   // a bad value fails at load
        return new Lazy<InferenceSession>(() => LoadSession(slots, _inputNames, _outputNames, out _slotsCaptures, kernels),
            LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>The session the model loaded first, its provider, and why earlier providers were skipped.</summary>
    public ProviderFallback.Result First { get; }

    /// <summary>The settings the sessions run with (graph capture off where auto capture was refused).</summary>
    public SessionSettings Settings { get; }

    /// <summary>Whether the causal graph is loaded.</summary>
    public bool Causal => _causal is not null;

    /// <summary>Whether the causal graphs take position_ids (exporter 15 on), which they rotate at apart from the slots
    /// seqlens_k gives, so a budgeted (sink + window) cache's passes can run on them.</summary>
    public bool CausalTakesPositions { get; }

    /// <summary>Whether the multi-row causal graph can take a causal pass of several tokens in several rows.</summary>
    public bool CausalRows => _causalRows is not null;

    /// <summary>Whether the multi-row causal graph is loaded (once a pass needed it).</summary>
    public bool CausalRowsLoaded => _causalRows is { IsValueCreated: true };

    /// <summary>Whether the slots graph can take the passes whose entries all get slots of their own.</summary>
    public bool Slots => _slots is not null;

    /// <summary>Whether the slots graph is loaded (once a pass needed it).</summary>
    public bool SlotsLoaded => _slots is { IsValueCreated: true };

    /// <summary>
    /// Whether a pass of <paramref name="graph"/> runs captured, where the settings capture: a graph that capture refuses
    /// under auto capture runs uncaptured (a layer-condensed model's general graph, whose mask arithmetic runs on the CPU,
    /// beside its causal graph, which captures). Asking about the general or the slots graph loads it, as the pass that
    /// asks is about to run it.
    /// </summary>
    public bool Captures(PassGraph graph) => graph switch
    {
        PassGraph.General => _general.Value is not null && _generalCaptures,
        PassGraph.Slots => _slots!.Value is not null && _slotsCaptures,
        _ => Settings.CapturesGraphs(First.Provider),
    };

    /// <summary>Whether the general graph is loaded (always without the causal graph; with it, once a pass needed it).</summary>
    public bool GeneralLoaded => _general.IsValueCreated;

    private string GeneralGraphPath => Path.Combine(_directory, _manifest.Graph);

    /// <summary>
    /// Loads the sessions on the first provider of <see cref="SessionSettings.Providers"/> that works, starting from the
    /// causal graph where fused attention applies on that provider.
    /// </summary>
    public static DecoderSessions Load(string exportDir, ModelManifest manifest, SessionSettings settings)
    {
        var graph = Path.Combine(exportDir, manifest.Graph);
        var causal = CausalGraphPath(exportDir, manifest, settings);
        if (manifest.IsLayerCondensed) settings = WithAttentionKernels(settings, UnfusedAttentionKernels);   // its causal graph's Attention
        ProviderFallback.Result first;
        try
        {
            first = ProviderFallback.CreateSession(p => causal is not null && settings.UsesFusedAttention(p, manifest) ? causal : graph, settings);
        }
        catch (CondensaException) when (causal is not null && settings.FusedAttention is null)
        {
            first = ProviderFallback.CreateSession(graph, settings);   // auto: a provider that refuses the causal graph runs the general one
        }
        if (!first.CapturesGraphs && settings.CapturesGraphs(first.Provider))   // auto capture refused for this graph: everything else runs uncaptured too
            settings = settings with { ProviderOptions = settings.ProviderOptions with { GraphCapture = false } };
        try
        {
            return new DecoderSessions(exportDir, manifest, first, settings);
        }
        catch
        {
            first.Session.Dispose();
            throw;
        }
    }

    /// <summary>Runs <paramref name="graph"/> on the workspace's bound values (the graph must be there: <see cref="Causal"/>,
    /// <see cref="CausalRows"/>, <see cref="Slots"/>).</summary>
    public void Run(ForwardWorkspace ws, PassGraph graph)
    {
        var (session, file) = graph switch
        {
            PassGraph.General => (_general.Value, _manifest.Graph),
            PassGraph.Slots => (_slots!.Value, _manifest.SlotsGraph!),
            PassGraph.Causal => (_causal!, _manifest.CausalGraph!),
            _ => (_causalRows!.Value, _manifest.CausalRowsGraph!),
        };
        if (graph is PassGraph.General or PassGraph.Slots)
            Run(session, file, ws, _inputNames, ws.FetchesLogits ? _outputNames : _outputNamesAfterLogits);
        else
            Run(session, file, ws, _causalInputNames, ws.FetchesLogits ? _causalOutputNames : _causalOutputNamesAfterLogits);
    }

    public void Dispose()
    {
        _causal?.Dispose();
        if (_causalRows is { IsValueCreated: true }) _causalRows.Value.Dispose();
        if (_slots is { IsValueCreated: true }) _slots.Value.Dispose();
        if (_general.IsValueCreated) _general.Value.Dispose();
    }

    // The causal graph's path, or null where the export has none; asking for fused attention then is an error.
    private static string? CausalGraphPath(string exportDir, ModelManifest manifest, SessionSettings settings)
    {
        if (settings.FusedAttention == false) return null;
        if (manifest.CausalGraph is null)
        {
            if (settings.FusedAttention != true) return null;
            throw new CondensaException($"{Path.Combine(exportDir, ModelManifest.FileName)}: fused attention was asked for, but the export has no " +
                "causal graph (sliding-window models have none, nor layer-condensed ones with lckv_released_decode, and exports before exporter version 6, " +
                "11 for layer-condensed models, lack it; " +
                "export the checkpoint again, or leave fused attention on auto).");
        }
        var path = Path.Combine(exportDir, manifest.CausalGraph);
        if (!File.Exists(path)) throw new CondensaException($"{path}: causal graph named in {ModelManifest.FileName} is missing.");
        return path;
    }

    // ONNX Runtime's CUDA kernels for the graphs that attend through ONNX Attention (the multi-row causal graph, the slots
    // graph, a layer-condensed model's causal graph): the unfused one alone (sdpa_kernel 16, its MATH backend). Their few query rows
    // per KV head leave the fused kernels' grids at batch x KV heads blocks, each streaming a whole row's cache; the
    // unfused kernel's cuBLAS GEMMs spread the cache over the GPU. Measured on the H200 (docs/benchmarks.md): lookup's
    // 4-token verification at 32 x 7,936 on the 1.1B shape 7.8 ms against 13.2 ms with the memory-efficient kernel
    // (round 9); the 1.1B layer-condensed shape's decode at 170 x 8,192 12,641 against 10,292 tok/s with flash attention,
    // 40,097 against 38,498 at 682 x 2,048 (round 11). A user's own sdpa_kernel (CONDENSA_CUDA_OPTIONS) wins.
    private const int UnfusedAttentionKernels = 16;

    // The multi-row causal graph (the verification passes) of a model with a KV head per query head: flash attention
    // (sdpa_kernel 1). Each of its blocks streams a KV head's cache for that head's few query rows whichever kernel runs, so
    // the fused kernel saves the unfused one's round trips through memory for the scores. Measured on the H100 (round 19,
    // demo-code-mha's shape, γ = 3): 4 tokens a row verified at 32 x 7,680 in 1.65-1.69 ms against 2.09-2.15 ms unfused
    // and 2.21 memory-efficient, at 64 x 7,680 in 2.58-2.63 against 3.77-3.79 (3.35), at 64 x 4,096 1.91 against 2.30;
    // where the cache is smaller it costs a little: 1.36 against 1.33 ms at 32 x 4,096, 0.73 against 0.68 at 8 x 4,096.
    private const int FlashAttentionKernels = 1;

    /// <summary>The environment variable that sets the multi-row causal graph's sdpa_kernel bits instead (ONNX Runtime's
    /// AttentionBackend: 1 flash, 2 memory-efficient, 16 unfused, or a sum): a measurement of the kernels for the
    /// verification passes in one build.</summary>
    public const string RowsKernelsVariable = "CONDENSA_ROWS_ATTENTION_KERNELS";

    /// <summary>The multi-row causal graph's sdpa_kernel where <see cref="RowsKernelsVariable"/>'s <paramref name="value"/> is
    /// unset or empty: flash attention for a model with one query head per KV head (<paramref name="queryHeadsPerKvHead"/>),
    /// the unfused kernel for a grouped-query one; else that value, which must be a whole number from 1 to 1023.</summary>
    internal static int RowsAttentionKernels(string? value, int queryHeadsPerKvHead) =>
        KernelBits(RowsKernelsVariable, value) ?? (queryHeadsPerKvHead == 1 ? FlashAttentionKernels : UnfusedAttentionKernels);

    /// <summary>The environment variable that sets the slots graph's sdpa_kernel bits instead (as <see cref="RowsKernelsVariable"/>):
    /// a measurement of the kernels for a tree's passes, whose bias the flash kernel does not take.</summary>
    public const string SlotsKernelsVariable = "CONDENSA_SLOTS_ATTENTION_KERNELS";

    /// <summary>The slots graph's sdpa_kernel: the unfused kernel where <see cref="SlotsKernelsVariable"/>'s
    /// <paramref name="value"/> is unset or empty, else that value (a whole number from 1 to 1023).</summary>
    internal static int SlotsAttentionKernels(string? value) => KernelBits(SlotsKernelsVariable, value) ?? UnfusedAttentionKernels;

    // An experiment's sdpa_kernel bits from `variable`, or null where it is unset or empty.
    private static int? KernelBits(string variable, string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) return null;
        return int.TryParse(value.Trim(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var bits)
            && bits is >= 1 and <= 1023
            ? bits
            : throw new CondensaException($"{variable}='{value}' must be a whole number from 1 to 1023 (ONNX Runtime's sdpa_kernel bits: " +
                "1 flash, 2 memory-efficient, 16 unfused), or unset.");
    }

    private static SessionSettings WithAttentionKernels(SessionSettings settings, int kernels) =>
        settings with { ProviderOptions = settings.ProviderOptions with { AttentionKernels = kernels } };

    // Another graph of the export on the causal graph's provider, for the first pass the causal graph cannot take; under auto
    // capture, a graph that capture refuses (nodes on the CPU) loads uncaptured, as the first session does (ProviderFallback).
    private InferenceSession LoadSession(string graph, string[] inputNames, string[] outputNames, out bool captures, int? attentionKernels = null)
    {
        var provider = First.Provider;
        var path = Path.Combine(_directory, graph);
        if (!File.Exists(path)) throw new CondensaException($"{path}: graph named in {ModelManifest.FileName} is missing.");
        var settings = attentionKernels is { } kernels ? WithAttentionKernels(Settings, kernels) : Settings;
        captures = Settings.CapturesGraphs(provider);
        InferenceSession session;
        try
        {
            using var options = settings.ToSessionOptions(provider, captures);
            try
            {
                session = new InferenceSession(path, options);
            }
            catch (OnnxRuntimeException e) when (captures && Settings.ProviderOptions.GraphCapture is null && e.Message.Contains("graph capture", StringComparison.OrdinalIgnoreCase))
            {
                using var uncaptured = settings.ToSessionOptions(provider, captureGraphs: false);
                (session, captures) = (new InferenceSession(path, uncaptured), false);
            }
        }
        catch (OnnxRuntimeException e)
        {
            throw new CondensaException($"{path}: ONNX Runtime could not load the graph on provider '{provider.Name}' ({e.Message}).", e);
        }
        try
        {
            CheckContract(session, graph, inputNames, outputNames);
            return session;
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    private void Run(InferenceSession session, string graph, ForwardWorkspace ws, string[] inputNames, string[] outputNames)
    {
        try
        {
            session.Run(ws.RunOptions, inputNames, ws.Inputs, outputNames, ws.Outputs);
        }
        catch (OnnxRuntimeException e)
        {
            throw new CondensaException($"{Path.Combine(_directory, graph)}: forward pass failed ({e.Message}).", e);
        }
    }

    private void CheckContract(InferenceSession session, string graph, string[] inputNames, string[] outputNames)
    {
        var file = Path.Combine(_directory, graph);
        // Exporter 5 added kv_write_index and present.{l}, 17 attention_span and attention_new: an older export is named as
        // such, not as a broken graph.
        var again = _manifest.ExporterVersion is > 0 and < 17
            ? $" (it was made by exporter version {_manifest.ExporterVersion}; export the checkpoint again)" : "";
        foreach (var name in inputNames)
            if (!session.InputMetadata.ContainsKey(name))
                throw new CondensaException($"{file}: graph input '{name}' is missing; the graph does not follow the Condensa contract for {ModelManifest.FileName}{again}.");
        foreach (var name in outputNames)
            if (!session.OutputMetadata.ContainsKey(name))
                throw new CondensaException($"{file}: graph output '{name}' is missing; the graph does not follow the Condensa contract for {ModelManifest.FileName}{again}.");
    }
}
