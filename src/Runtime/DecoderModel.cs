using Condensa.Runtime.ExecutionProviders;
using Condensa.Runtime.Kv;
using Microsoft.ML.OnnxRuntime;

namespace Condensa.Runtime;

/// <summary>
/// An exported decoder graph loaded into ONNX Runtime. Immutable once loaded and safe to share between threads:
/// all per-sequence state (KV and scratch buffers) lives in the <see cref="KvCache"/> passed to each call.
/// </summary>
public sealed class DecoderModel : IDecoder, IDisposable
{
    // The general graph: loaded with the model, or, when the causal graph came first, at the first pass that needs it
    // (a batch-1 generation or an extraction job never does, and each session holds its own copy of the weights).
    private readonly Lazy<InferenceSession> _general;
    private readonly InferenceSession? _causal;      // the causal graph, when loaded (SessionSettings.FusedAttention)
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private readonly string[] _causalInputNames;
    private readonly string[] _causalOutputNames;
    private readonly LayerCondensation _condensation;
    private readonly int[][] _blockPending;   // per cyclic block, indices into the pending layers
    private readonly KvMemory _kvMemory;

    private DecoderModel(string directory, ModelManifest manifest, ProviderFallback.Result first, SessionSettings settings)
    {
        Directory = directory;
        Manifest = manifest;
        Provider = first.Provider;
        SkippedProviders = first.Skipped;
        var layers = manifest.KvLayers;
        _condensation = manifest.Condensation;
        var pending = _condensation.PendingLayers;
        _blockPending = [.. _condensation.BlockTargets.Select(targets => targets.Select(t => pending.ToList().IndexOf(t)).ToArray())];
        _inputNames = ["input_ids", "position_ids", "attention_bias", "logits_index", "kv_write_index",
            .. layers.SelectMany(l => new[] { $"past.{l}.key", $"past.{l}.value" }),
            .. pending.SelectMany(t => new[] { $"pending.{t}.key", $"pending.{t}.value" })];
        _outputNames = ["logits", .. layers.SelectMany(l => new[] { $"new.{l}.key", $"new.{l}.value" }),
            .. layers.SelectMany(l => new[] { $"present.{l}.key", $"present.{l}.value" })];
        _causalInputNames = ["input_ids", "logits_index", "seqlens_k", "total_sequence_length",
            .. layers.SelectMany(l => new[] { $"past.{l}.key", $"past.{l}.value" })];
        _causalOutputNames = ["logits", .. layers.SelectMany(l => new[] { $"present.{l}.key", $"present.{l}.value" })];
        if (first.Graph == GeneralGraphPath)
        {
            CheckContract(first.Session, manifest.Graph, _inputNames, _outputNames);
            _general = new Lazy<InferenceSession>(first.Session);
        }
        else
        {
            _causal = first.Session;
            CheckContract(_causal, manifest.CausalGraph!, _causalInputNames, _causalOutputNames);
            _general = new Lazy<InferenceSession>(() => LoadGeneral(settings), LazyThreadSafetyMode.ExecutionAndPublication);
        }
        _kvMemory = settings.KvResidence switch
        {
            KvResidence.Host => KvMemory.Host,
            KvResidence.Auto when !Provider.HasDeviceMemory => KvMemory.Host,
            _ => DeviceKvMemory.Load(directory, manifest, first.Session, Provider, settings),
        };
    }

    /// <summary>Whether caches of this model keep their KV in device memory (see <see cref="KvResidence"/>).</summary>
    public bool KvOnDevice => _kvMemory.OnDevice;

    /// <summary>Whether causal passes run the export's causal graph, one fused attention node per layer (see
    /// <see cref="SessionSettings.FusedAttention"/>).</summary>
    public bool FusedAttention => _causal is not null;

    /// <summary>Whether the general graph is loaded: always without fused attention; with it, once a pass needed it.</summary>
    internal bool GeneralGraphLoaded => _general.IsValueCreated;

    /// <summary>Whether decode passes are captured as CUDA graphs and replayed (see <see cref="ProviderOptions.GraphCapture"/>).</summary>
    public bool CapturesGraphs => _kvMemory.Capture is not null;

    /// <summary>The export folder the model was loaded from.</summary>
    public string Directory { get; }

    /// <summary>The model's condensa.json.</summary>
    public ModelManifest Manifest { get; }

    /// <summary>The execution provider the model runs on: the first of <see cref="SessionSettings.Providers"/> that worked.</summary>
    public ExecutionProvider Provider { get; }

    /// <summary>Why each provider listed before <see cref="Provider"/> was skipped (empty when the first one worked).</summary>
    public IReadOnlyList<string> SkippedProviders { get; }

    private string GeneralGraphPath => Path.Combine(Directory, Manifest.Graph);

    /// <summary>
    /// Loads an export folder (condensa.json + graph) on the first provider of <see cref="SessionSettings.Providers"/>
    /// that works, starting from the causal graph where fused attention applies (<see cref="SessionSettings.FusedAttention"/>).
    /// $CONDENSA_ORT_LIBRARY, when set, names the native ONNX Runtime build to load (see <see cref="OrtLibrary"/>).
    /// </summary>
    public static DecoderModel Load(string exportDir, SessionSettings? settings = null)
    {
        var manifest = ModelManifest.Load(exportDir);
        var graph = Path.Combine(exportDir, manifest.Graph);
        if (!File.Exists(graph)) throw new CondensaException($"{graph}: graph file named in {ModelManifest.FileName} is missing.");
        settings ??= new SessionSettings();
        if (manifest.KvType == KvDataType.BFloat16 && settings.ResolveProviders().All(p => p == ExecutionProvider.Cpu))
            throw new CondensaException($"{Path.Combine(exportDir, ModelManifest.FileName)}: a bfloat16 export runs on a GPU provider (cuda); " +
                "ONNX Runtime's CPU provider has no bfloat16 kernels. Run it with --provider cuda, or export with --precision fp32 or fp16.");
        var causal = CausalGraphPath(exportDir, manifest, settings);
        OrtLibrary.Use();

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
            return new DecoderModel(exportDir, manifest, first, settings);
        }
        catch
        {
            first.Session.Dispose();
            throw;
        }
    }

    // The causal graph's path, or null where the export has none; asking for fused attention then is an error.
    private static string? CausalGraphPath(string exportDir, ModelManifest manifest, SessionSettings settings)
    {
        if (settings.FusedAttention == false) return null;
        if (manifest.CausalGraph is null)
        {
            if (settings.FusedAttention != true) return null;
            throw new CondensaException($"{Path.Combine(exportDir, ModelManifest.FileName)}: fused attention was asked for, but the export has no " +
                "causal graph (layer-condensed and sliding-window models have none, and exports before exporter version 6 lack it; " +
                "export the checkpoint again, or leave fused attention on auto).");
        }
        var path = Path.Combine(exportDir, manifest.CausalGraph);
        if (!File.Exists(path)) throw new CondensaException($"{path}: causal graph named in {ModelManifest.FileName} is missing.");
        return path;
    }

    // The general graph on the causal graph's provider, for the first pass the causal graph cannot take.
    private InferenceSession LoadGeneral(SessionSettings settings)
    {
        using var options = settings.ToSessionOptions(Provider, settings.CapturesGraphs(Provider));
        InferenceSession session;
        try
        {
            session = new InferenceSession(GeneralGraphPath, options);
        }
        catch (OnnxRuntimeException e)
        {
            throw new CondensaException($"{GeneralGraphPath}: ONNX Runtime could not load the graph on provider '{Provider.Name}' ({e.Message}).", e);
        }
        try
        {
            CheckContract(session, Manifest.Graph, _inputNames, _outputNames);
            return session;
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>Creates KV buffers (and scratch) for a batch of <paramref name="batchSize"/> sequences.</summary>
    public KvCache CreateCache(int batchSize, KvCacheOptions? options = null) => new(Manifest, batchSize, options ?? new KvCacheOptions(), _kvMemory);

    /// <summary>
    /// Runs the model on counts[b] new tokens of each row, appends their KV to the cache, and returns logits:
    /// [batch, vocab] for <see cref="LogitsSelection.LastPerRow"/> or [batch, seqLen, vocab] for
    /// <see cref="LogitsSelection.All"/>. The span points into the cache's scratch and is valid until its next pass.
    /// </summary>
    /// <param name="cache">KV and scratch of this batch; must come from this model.</param>
    /// <param name="tokens">[batch, seqLen] new tokens, row-major; entries past counts[b] are padding.</param>
    /// <param name="counts">[batch] number of real new tokens per row (0 leaves a row untouched).</param>
    /// <param name="selection">Which positions produce logits.</param>
    public ReadOnlySpan<float> Forward(KvCache cache, ReadOnlySpan<int> tokens, ReadOnlySpan<int> counts, LogitsSelection selection) =>
        Forward(cache, new ForwardInputs(tokens, counts, selection));

    /// <summary>Runs a forward pass with explicit positions or a tree mask (see <see cref="ForwardInputs"/>).</summary>
    public ReadOnlySpan<float> Forward(KvCache cache, scoped in ForwardInputs inputs)
    {
        ArgumentNullException.ThrowIfNull(cache);
        var batch = cache.BatchSize;
        if (inputs.Counts.Length != batch) throw new ArgumentException($"counts has {inputs.Counts.Length} rows; the cache has {batch}.", nameof(inputs));
        if (inputs.Tokens.Length == 0 || inputs.Tokens.Length % batch != 0)
            throw new ArgumentException($"tokens ({inputs.Tokens.Length}) must be [batch={batch}, seqLen].", nameof(inputs));
        var seqLen = inputs.Tokens.Length / batch;
        var needed = 0;
        for (var b = 0; b < batch; b++)
        {
            if ((uint)inputs.Counts[b] > (uint)seqLen) throw new ArgumentOutOfRangeException(nameof(inputs), $"counts[{b}] = {inputs.Counts[b]} is outside 0..{seqLen}.");
            needed = Math.Max(needed, cache.Lengths[b] + inputs.Counts[b]);
        }

        // 1) room for the new entries (may reallocate the buffers)
        cache.EnsureCapacity(needed);
        var k = inputs.Selection == LogitsSelection.All ? seqLen : 1;
        var ws = cache.Workspace;
        var causal = RunsCausal(cache, inputs, seqLen);
        ws.Prepare(seqLen, k, cache, causal);

        // 2) inputs: ids, positions, logits index; then for the general graph the mask over [cache slots ++ new tokens]
        //    and where the new entries go, for the causal graph each row's length after the pass
        FillInputs(ws, cache, inputs, seqLen, Manifest.MaxContext);
        if (causal)
        {
            var seqLens = ws.SeqLensK;
            for (var b = 0; b < batch; b++) seqLens[b] = cache.Lengths[b] + seqLen - 1;
            ws.TotalSequenceLength = CausalTotal(cache);
        }
        else
        {
            cache.BuildBias(ws.Bias, inputs.Counts, seqLen, Manifest.SlidingWindow, inputs.NewTokenVisibility, inputs.Positions);
            cache.FillWriteIndex(ws.WriteIndex, inputs.Counts, seqLen);
        }
        ws.Upload();   // a captured pass reads its inputs from fixed device buffers

        // 3) one pass (or a layer-condensed model's iterated passes); the past is read and written in place, the other
        //    outputs land in the workspace
        if (causal)
        {
            Run(_causal!, Manifest.CausalGraph!, ws, _causalInputNames, _causalOutputNames);
        }
        else if (_condensation.IsIterative)
        {
            if (cache.Budget is not null && Manifest.LayerSlidingWindow is not null)
                throw new CondensaException($"{Path.Combine(Directory, ModelManifest.FileName)}: per-layer sliding windows are applied in the " +
                    "graph, which assumes slot = position; a budgeted (sink + window) cache does not hold that.");
            var maxCount = 0;
            foreach (var c in inputs.Counts) maxCount = Math.Max(maxCount, c);
            RunIterative(ws, maxCount);
        }
        else
        {
            Run(ws);
        }
        ws.Download();

        // 4) the rows take their new entries (written by the pass itself, or for a budgeted cache from its outputs)
        cache.CommitPass(inputs.Counts);
        return ws.Logits;
    }

    /// <summary>
    /// Whether a pass runs the causal graph: it is loaded, the cache holds every position at slot = position (not a
    /// budget), the new tokens attend causally at the rows' next positions (no tree, no explicit positions), and the
    /// pass is one GroupQueryAttention takes with a past: one token per row, or one row. Every row, idle ones
    /// included, gets its S entries written at its length (past the length they are never read), so each must fit
    /// the buffers and the rotary table.
    /// </summary>
    private bool RunsCausal(KvCache cache, scoped in ForwardInputs inputs, int seqLen)
    {
        if (_causal is null || !cache.WritesInPass || !inputs.Positions.IsEmpty || !inputs.NewTokenVisibility.IsEmpty) return false;
        if (seqLen != 1 && cache.BatchSize != 1) return false;
        var limit = CausalTotal(cache);
        foreach (var length in cache.Lengths)
            if (length + seqLen > limit) return false;
        return true;
    }

    // total_sequence_length: fixed for the cache's buffers (a captured graph keeps the value it was captured with), at
    // least every row's length after a causal pass, and within the rotary table, which GroupQueryAttention checks it against.
    private int CausalTotal(KvCache cache) => Math.Min(cache.Slots, Manifest.MaxContext);

    /// <summary>
    /// The iterative prefill of a layer-condensed model (DESIGN.md §4) over this chunk's tokens and the committed past:
    /// each cyclic block iterates P = min(tokens, R) times from the same inputs, its pending KV starting at zero and
    /// each pass reading the previous pass's new KV. The graph recomputes everything per pass, so earlier blocks
    /// stop after P - 1 passes, when their pending estimate is final, and one last pass runs every block at its final
    /// iterate; only that pass's KV is appended. P = 1 (decode) is a single exact pass; P = tokens &lt;= R is exact
    /// too (each pass settles one more position), i.e. equal to token-by-token decoding.
    /// </summary>
    private void RunIterative(ForwardWorkspace ws, int maxCount)
    {
        ws.ClearPending();
        var perBlock = _condensation.PassesPerBlock(maxCount);
        foreach (var block in _blockPending)
        {
            for (var pass = 1; pass < perBlock; pass++)
            {
                Run(ws);
                ws.PendingFromNew(block);
            }
        }
        Run(ws);
    }

    private void Run(ForwardWorkspace ws) => Run(_general.Value, Manifest.Graph, ws, _inputNames, _outputNames);

    private void Run(InferenceSession session, string graph, ForwardWorkspace ws, string[] inputNames, string[] outputNames)
    {
        try
        {
            session.Run(ws.RunOptions, inputNames, ws.Inputs, outputNames, ws.Outputs);
        }
        catch (OnnxRuntimeException e)
        {
            throw new CondensaException($"{Path.Combine(Directory, graph)}: forward pass failed ({e.Message}).", e);
        }
    }

    private static void FillInputs(ForwardWorkspace ws, KvCache cache, scoped in ForwardInputs inputs, int seqLen, int maxContext)
    {
        var ids = ws.Ids;
        var positions = ws.Positions;
        var logitsIndex = ws.LogitsIndex;
        for (var b = 0; b < cache.BatchSize; b++)
        {
            for (var j = 0; j < seqLen; j++)
            {
                var i = b * seqLen + j;
                ids[i] = j < inputs.Counts[b] ? inputs.Tokens[i] : 0;
                var position = inputs.Positions.IsEmpty ? cache.Lengths[b] + Math.Min(j, Math.Max(inputs.Counts[b] - 1, 0)) : inputs.Positions[i];
                // The graph's rotary caches have max_context rows and ONNX Runtime does not check the index: a token past
                // them is an error, a padding entry (masked, its position unused) is only kept inside.
                if ((ulong)position >= (ulong)maxContext)
                {
                    if (j < inputs.Counts[b])
                        throw new CondensaException($"position {position} of batch row {b} is outside the model's context (max_context {maxContext}).");
                    position = maxContext - 1;
                }
                positions[i] = position;
            }
            if (inputs.Selection == LogitsSelection.All)
                for (var j = 0; j < seqLen; j++) logitsIndex[b * seqLen + j] = j;
            else
                logitsIndex[b] = Math.Max(inputs.Counts[b] - 1, 0);
        }
    }

    private void CheckContract(InferenceSession session, string graph, string[] inputNames, string[] outputNames)
    {
        var file = Path.Combine(Directory, graph);
        // Exporter 5 added kv_write_index and present.{l}: an older export is named as such, not as a broken graph.
        var again = Manifest.ExporterVersion is > 0 and < 5
            ? $" (it was made by exporter version {Manifest.ExporterVersion}; export the checkpoint again)" : "";
        foreach (var name in inputNames)
            if (!session.InputMetadata.ContainsKey(name))
                throw new CondensaException($"{file}: graph input '{name}' is missing; the graph does not follow the Condensa contract for {ModelManifest.FileName}{again}.");
        foreach (var name in outputNames)
            if (!session.OutputMetadata.ContainsKey(name))
                throw new CondensaException($"{file}: graph output '{name}' is missing; the graph does not follow the Condensa contract for {ModelManifest.FileName}{again}.");
    }

    /// <inheritdoc />
    public void Dispose()
    {
        (_kvMemory as IDisposable)?.Dispose();
        _causal?.Dispose();
        if (_general.IsValueCreated) _general.Value.Dispose();
    }
}
