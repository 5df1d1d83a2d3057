using Condensa.Runtime.ExecutionProviders;
using Condensa.Runtime.Kv;

namespace Condensa.Runtime;

/// <summary>
/// An exported decoder graph loaded into ONNX Runtime. Immutable once loaded and safe to share between threads:
/// all per-sequence state (KV and scratch buffers) lives in the <see cref="KvCache"/> passed to each call.
/// </summary>
public sealed class DecoderModel : IDecoder, IDisposable
{
    private readonly DecoderSessions _sessions;
    private readonly LayerCondensation _condensation;
    private readonly bool _causalDecodesOnly;   // a layer-condensed export's causal graph takes decode steps alone
    private readonly bool _cpuLongDecodesCausal;   // CPU decode steps stay on the causal graph past CpuCausalDecodeContext
    private readonly bool _xqaRotatesBudgets;      // cuda's one-token causal passes rotate at position_ids (XqaDecodes)
    private readonly int[][] _blockPending;   // per cyclic block, indices into the pending layers
    private readonly KvMemory _kvMemory;
    private readonly KvCachePool _caches = new();

    private DecoderModel(string directory, ModelManifest manifest, DecoderSessions sessions)
    {
        Directory = directory;
        Manifest = manifest;
        _sessions = sessions;
        _condensation = manifest.Condensation;
        _causalDecodesOnly = manifest.IsLayerCondensed;
        _cpuLongDecodesCausal = manifest.IsLayerCondensed || manifest.NumHeads <= 2 * manifest.NumKvHeads;
        var pending = _condensation.PendingLayers;
        _blockPending = [.. _condensation.BlockTargets.Select(targets => targets.Select(t => pending.ToList().IndexOf(t)).ToArray())];
        _xqaRotatesBudgets = sessions.CausalTakesPositions && XqaDecodes(manifest);
        _kvMemory = sessions.Settings.KvResidence switch
        {
            KvResidence.Host => KvMemory.Host,
            KvResidence.Auto when !Provider.HasDeviceMemory => KvMemory.Host,
            _ => DeviceKvMemory.Load(directory, manifest, sessions.First.Session, Provider, sessions.Settings),
        };
    }

    /// <summary>Whether caches of this model keep their KV in device memory (see <see cref="KvResidence"/>).</summary>
    public bool KvOnDevice => _kvMemory.OnDevice;

    /// <summary>Whether causal passes run the export's causal graph, one fused attention node per layer (see
    /// <see cref="SessionSettings.FusedAttention"/>).</summary>
    public bool FusedAttention => _sessions.Causal;

    /// <summary>Whether the general graph is loaded: always without fused attention; with it, once a pass needed it.</summary>
    internal bool GeneralGraphLoaded => _sessions.GeneralLoaded;

    /// <summary>Whether the multi-row causal graph is loaded (once a causal pass of several tokens in several rows needed it).</summary>
    internal bool CausalRowsGraphLoaded => _sessions.CausalRowsLoaded;

    /// <summary>Whether the slots graph is loaded (once a pass of the general graph's kind could take it).</summary>
    internal bool SlotsGraphLoaded => _sessions.SlotsLoaded;

    /// <summary>Passes that ran a causal graph (for tests: which graph a pass took).</summary>
    internal int CausalPasses { get; private set; }

    /// <summary>Passes that ran the slots graph (for tests).</summary>
    internal int SlotsPasses { get; private set; }

    /// <summary>Distinct pass shapes this model has run (graph, rows, new tokens a row, logit positions a row). A shape's
    /// first run pays ONNX Runtime's first-use costs whether or not it is captured (round 24 on an H100: 15-20 ms, the
    /// process's first multi-token verification 105 ms), so bench counts the new ones a run met.</summary>
    public int PassShapes => _passShapes.Count;

    private readonly System.Collections.Concurrent.ConcurrentDictionary<(PassGraph Graph, int Rows, int SeqLen, int K), byte> _passShapes = new();

    /// <summary>Captured passes round several tokens per row up to a power of two (2, 4, ... 32): speculative verification
    /// varies its length round by round, and each new length would be captured anew (and count against
    /// <see cref="Capture.GraphCapture.MaxGraphs"/>).</summary>
    public int PassLength(int tokens) =>
        CapturesGraphs && tokens is > 1 and <= Capture.GraphCapture.MaxCapturedTokens ? (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)tokens) : tokens;

    /// <inheritdoc />
    public int LongestCapturedPass => CapturesGraphs ? Capture.GraphCapture.MaxCapturedTokens : 0;

    /// <summary>Whether decode passes are captured as CUDA graphs and replayed (see <see cref="ProviderOptions.GraphCapture"/>).</summary>
    public bool CapturesGraphs => _kvMemory.Capture is not null;

    /// <summary>CUDA graphs this model's caches have captured so far (each pass shape once per cache and buffer generation;
    /// a capture costs a few plain steps: docs/benchmarks.md, round 17). 0 without capture.</summary>
    public int CapturedGraphs => _kvMemory.Capture?.Issued ?? 0;

    /// <summary>Whether the model has captured as many graphs as it keeps (<see cref="Capture.GraphCapture.MaxGraphs"/>): its
    /// new pass shapes run uncaptured from then on.</summary>
    public bool CapturedGraphsAtCap => CapturedGraphs >= Capture.GraphCapture.MaxGraphs;

    /// <summary>The export folder the model was loaded from.</summary>
    public string Directory { get; }

    /// <summary>The model's condensa.json.</summary>
    public ModelManifest Manifest { get; }

    /// <summary>The execution provider the model runs on: the first of <see cref="SessionSettings.Providers"/> that worked.</summary>
    public ExecutionProvider Provider => _sessions.First.Provider;

    /// <summary>Why each provider listed before <see cref="Provider"/> was skipped (empty when the first one worked).</summary>
    public IReadOnlyList<string> SkippedProviders => _sessions.First.Skipped;

    /// <summary>
    /// Loads an export folder (condensa.json + graphs) on the first provider of <see cref="SessionSettings.Providers"/>
    /// that works (<see cref="DecoderSessions"/>). $CONDENSA_ORT_LIBRARY, when set, names the native ONNX Runtime build to
    /// load (see <see cref="OrtLibrary"/>).
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
        OrtLibrary.Use();
        var sessions = DecoderSessions.Load(exportDir, manifest, settings);
        try
        {
            return new DecoderModel(exportDir, manifest, sessions);
        }
        catch
        {
            sessions.Dispose();
            throw;
        }
    }

    /// <summary>Creates KV buffers (and scratch) for a batch of <paramref name="batchSize"/> sequences. A cache of the same
    /// batch size and options (or a capacity its buffers hold) that a caller disposed comes back emptied, its buffers and
    /// captured CUDA graphs kept (<see cref="KvCachePool"/>).</summary>
    public KvCache CreateCache(int batchSize, KvCacheOptions? options = null)
    {
        options ??= new KvCacheOptions();
        if (_caches.Take(batchSize, options) is { } reused) return reused;
        var cache = new KvCache(Manifest, batchSize, options, _kvMemory, _caches);
        cache.Workspace.CausalTakesPositions = _sessions.CausalTakesPositions;
        return cache;
    }

    /// <summary>Frees the disposed caches the model keeps for reuse (<see cref="CreateCache"/>), e.g. before a long idle spell
    /// of an app that wants their memory back.</summary>
    public void ReleaseIdleCaches() => _caches.ReleaseIdle();

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
        var seqLen = Validate(cache, inputs);
        return IsSequential(inputs, seqLen) ? ForwardSequential(cache, inputs, seqLen) : Pass(cache, inputs, seqLen, logits: true).Logits;
    }

    /// <summary>
    /// Runs a forward pass like <see cref="Forward(KvCache, in ForwardInputs)"/> for a caller that only picks each selected
    /// position's most likely token (greedy decoding with no logits processor): returns [batch, k] token ids, the first
    /// maximum on a tie, as an argmax of Forward's logits would. An export with the greedy_tokens output computes them where
    /// the logits are, so a captured GPU step copies B·K ids to the host instead of B·K·V floats. The span points into the
    /// cache's scratch and is valid until its next pass.
    /// </summary>
    public ReadOnlySpan<int> ForwardGreedy(KvCache cache, scoped in ForwardInputs inputs)
    {
        var seqLen = Validate(cache, inputs);
        return IsSequential(inputs, seqLen)
            ? cache.Workspace.ArgmaxOf(ForwardSequential(cache, inputs, seqLen))
            : Pass(cache, inputs, seqLen, logits: false).GreedyTokens;
    }

    // A layer-condensed model with use_sequential takes a chunk of new tokens one token per pass.
    private bool IsSequential(scoped in ForwardInputs inputs, int seqLen) =>
        _condensation.IsIterative && Manifest.UseSequential && seqLen > 1 && inputs.Positions.IsEmpty && inputs.NewTokenVisibility.IsEmpty;

    // Checks the inputs against the cache; returns seqLen, the new tokens per row.
    private static int Validate(KvCache cache, scoped in ForwardInputs inputs)
    {
        ArgumentNullException.ThrowIfNull(cache);
        var batch = cache.BatchSize;
        if (inputs.Counts.Length != batch) throw new ArgumentException($"counts has {inputs.Counts.Length} rows; the cache has {batch}.", nameof(inputs));
        if (inputs.Tokens.Length == 0 || inputs.Tokens.Length % batch != 0)
            throw new ArgumentException($"tokens ({inputs.Tokens.Length}) must be [batch={batch}, seqLen].", nameof(inputs));
        var seqLen = inputs.Tokens.Length / batch;
        for (var b = 0; b < batch; b++)
            if ((uint)inputs.Counts[b] > (uint)seqLen) throw new ArgumentOutOfRangeException(nameof(inputs), $"counts[{b}] = {inputs.Counts[b]} is outside 0..{seqLen}.");
        return seqLen;
    }

    // One pass (or a layer-condensed model's iterated passes) over validated inputs; its outputs are in the returned
    // workspace, the logits on the host only when asked for (or when the export has no greedy_tokens to read instead).
    private ForwardWorkspace Pass(KvCache cache, scoped in ForwardInputs inputs, int seqLen, bool logits)
    {
        var batch = cache.BatchSize;
        if (cache.Budget is not null && Manifest.LayerSlidingWindow is not null)
            throw new CondensaException($"{Path.Combine(Directory, ModelManifest.FileName)}: per-layer sliding windows are applied in the " +
                "graph, which assumes slot = position; a budgeted (sink + window) cache does not hold that.");
        var needed = 0;
        for (var b = 0; b < batch; b++) needed = Math.Max(needed, cache.Lengths[b] + inputs.Counts[b]);

        // 1) room for the new entries (may reallocate the buffers, or drop a budget's oldest entries); the pass's rows
        cache.EnsureCapacity(needed);
        if (cache.WritesAllInPass(seqLen)) cache.MakeRoom(inputs.Counts);
        var k = inputs.Selection == LogitsSelection.All ? seqLen : 1;
        var ws = cache.Workspace;
        var rows = PassRows(cache, inputs.Counts);
        var graph = GraphFor(cache, inputs, seqLen, rows);
        _passShapes.TryAdd((graph, rows, seqLen, k), 0);
        var causal = graph is PassGraph.Causal or PassGraph.CausalRows;
        ws.Prepare(seqLen, k, cache, causal, logits, _sessions.Captures(graph), rows);
        LastPassRows = rows;

        // 2) inputs: ids, positions, logits index; then for the general graph the mask (each token's cache slots, the new
        //    tokens it sees) and where the new entries go, for the causal graph each row's length after the pass
        FillInputs(ws, cache, inputs, seqLen, Manifest.MaxContext);
        if (causal)
        {
            var seqLens = ws.SeqLensK;
            var fills = cache.Fills;
            for (var b = 0; b < rows; b++) seqLens[b] = fills[b] + seqLen - 1;
            ws.TotalSequenceLength = CausalTotal(cache);
        }
        else
        {
            cache.BuildMask(ws.Spans, ws.NewBias, rows, inputs.Counts, seqLen, Manifest.SlidingWindow, inputs.NewTokenVisibility, inputs.Positions);
            cache.FillWriteIndex(ws.WriteIndex, rows, inputs.Counts, seqLen);
        }
        ws.Upload();   // a captured pass reads its inputs from fixed device buffers

        // 3) one pass (or a layer-condensed model's iterated passes); the past is read and written in place, the other
        //    outputs land in the workspace
        if (_condensation.IsIterative && graph == PassGraph.General)
        {
            var maxCount = 0;
            foreach (var c in inputs.Counts) maxCount = Math.Max(maxCount, c);
            RunIterative(ws, maxCount);
        }
        else
        {
            _sessions.Run(ws, graph);
            if (causal) CausalPasses++;
            if (graph == PassGraph.Slots) SlotsPasses++;
        }
        ws.Download();

        // 4) the rows take their new entries (written by the pass itself, or for a budgeted pass longer than its slack from
        //    its outputs)
        cache.CommitPass(inputs.Counts, seqLen);
        return ws;
    }

    /// <summary>
    /// A layer-condensed model with use_sequential: the chunk goes through one token per pass, column by column, as
    /// decoding would take it (exact, where the iterative prefill approximates it), and each row's logits are gathered
    /// from the passes that carried its tokens.
    /// </summary>
    private ReadOnlySpan<float> ForwardSequential(KvCache cache, scoped in ForwardInputs inputs, int seqLen)
    {
        var batch = cache.BatchSize;
        var vocab = Manifest.VocabSize;
        var all = inputs.Selection == LogitsSelection.All;
        var result = cache.Workspace.SequentialLogits(batch * (all ? seqLen : 1) * vocab);
        result.Clear();
        var tokens = new int[batch];
        var counts = new int[batch];
        for (var j = 0; j < seqLen; j++)
        {
            for (var b = 0; b < batch; b++)
            {
                counts[b] = j < inputs.Counts[b] ? 1 : 0;
                tokens[b] = inputs.Tokens[b * seqLen + j];
            }
            if (counts.AsSpan().IndexOf(1) < 0) break;   // every row's tokens are in
            var logits = Forward(cache, new ForwardInputs(tokens, counts, LogitsSelection.LastPerRow));   // [batch, vocab]
            for (var b = 0; b < batch; b++)
            {
                if (counts[b] == 0 || (!all && j != inputs.Counts[b] - 1)) continue;
                logits.Slice(b * vocab, vocab).CopyTo(result[((all ? b * seqLen + j : b) * vocab)..]);
            }
        }
        return result;
    }

    // The graph a pass runs: a causal graph where one takes it, else the slots graph where it is there and the pass's entries
    // all get slots of their own, else the general graph.
    private PassGraph GraphFor(KvCache cache, scoped in ForwardInputs inputs, int seqLen, int rows)
    {
        if (RunsCausal(cache, inputs, seqLen, rows)) return TakesRowsGraph(seqLen, rows) ? PassGraph.CausalRows : PassGraph.Causal;
        return RunsSlots(cache, seqLen, rows) ? PassGraph.Slots : PassGraph.General;
    }

    /// <summary>
    /// The rows a pass runs over: the leading rows through the last one with new tokens, rounded up to a power of two (so
    /// a captured pass has few row counts to capture), or every row where the cache's buffers cannot be viewed so. Rows past
    /// them sit the pass out as a row without new tokens would, at no cost: a pass's attention reads every slot of every row
    /// it covers, so a static batch's last documents, which the decode loop packs into the leading rows
    /// (<see cref="Generation.DecodeLoop"/>), cost what a batch of them alone would.
    /// </summary>
    internal static int PassRows(KvCache cache, ReadOnlySpan<int> counts)
    {
        var batch = cache.BatchSize;
        if (!cache.ViewsLeadingRows) return batch;
        return KvCache.LeadingRows(counts.LastIndexOfAnyExcept(0) + 1, batch);
    }

    /// <summary>Rows the last pass ran over (for tests: <see cref="PassRows"/>).</summary>
    internal int LastPassRows { get; private set; }

    /// <summary>
    /// Whether a pass the causal graphs cannot take runs the slots graph (docs/ARCHITECTURE.md, "The slots graph"): it is
    /// there, the graph writes every entry of the pass into a slot of its own before it attends (a full cache, or a
    /// budgeted one's pass no longer than its slack; a longer pass's entries wait in the scratch slot for the host), and
    /// the pass is at most <see cref="RowsGraphMaxTokens"/> long, as its bias, batch x G·seqLen x capacity elements, is
    /// the multi-row causal graph's; or it runs over one row (a float32 export's prompt chunks on cuda, where no causal graph
    /// runs), whose bias of G·seqLen x capacity elements is G times the mask the general graph builds for the pass anyway.
    /// </summary>
    private bool RunsSlots(KvCache cache, int seqLen, int rows) =>
        _sessions.Slots && (seqLen <= RowsGraphMaxTokens || rows == 1) && cache.WritesAllInPass(seqLen);

    /// <summary>
    /// Whether a pass runs a causal graph: it is loaded, the cache holds every position at slot = position or is a budget
    /// whose pass the graphs rotate at its positions (<see cref="BudgetTakesCausal"/>), the new tokens attend causally at
    /// the rows' next positions (no tree, no explicit positions), and the pass is one GroupQueryAttention takes with a past
    /// (one token per row, or one row) or the multi-row causal graph is there for the rest. Every row, idle ones included,
    /// gets its S entries written from the slots it fills (past them they are never read), so each must fit the buffers
    /// and the rotary table (<see cref="CausalTotal"/>, which the table's padding rows take past the context limit), and
    /// every real token's position must be one the causal graphs rotate as the checkpoint does (within a longrope export's
    /// original context, <see cref="CausalContext"/>).
    /// </summary>
    private bool RunsCausal(KvCache cache, scoped in ForwardInputs inputs, int seqLen, int rows)
    {
        if (!_sessions.Causal || !inputs.Positions.IsEmpty || !inputs.NewTokenVisibility.IsEmpty) return false;
        if (!cache.WritesInPass && !BudgetTakesCausal(cache, seqLen, rows)) return false;
        if (_causalDecodesOnly && !IsCondensedDecodeStep(cache, inputs, seqLen)) return false;
        if (TakesRowsGraph(seqLen, rows) && (!_sessions.CausalRows || seqLen > RowsGraphMaxTokens)) return false;
        var (written, rotated) = (CausalTotal(cache), CausalContext);
        var fills = cache.Fills;
        var longest = 0;
        for (var b = 0; b < rows; b++)
        {
            if (fills[b] + seqLen > written || cache.Lengths[b] + inputs.Counts[b] > rotated) return false;
            longest = Math.Max(longest, fills[b]);
        }
        return seqLen != 1 || longest < CpuCausalDecodeContext || Provider != ExecutionProvider.Cpu || _sessions.Settings.FusedAttention == true
            || _cpuLongDecodesCausal;
    }

    // Whether a budgeted pass may run a causal graph: the graphs take position_ids (exporter 15 on), apart from the slots
    // seqlens_k gives; the budget's slack holds the pass; and the kernel that runs it rotates q and k at them. ONNX
    // Runtime's CPU GroupQueryAttention does (BudgetedPassesTests hold it to the general graph), and so does the multi-row
    // causal graph's RotaryEmbedding anywhere. On cuda, of the GroupQueryAttention source we read, the XQA decode kernel does
    // (one token a row), but the flash-decoding path that takes every other pass over a shared buffer rotates inside flash
    // attention at each row's length, ignoring position_ids, and the WebGPU kernel rotates at the lengths too: there a
    // budget keeps the slots and general graphs.
    private bool BudgetTakesCausal(KvCache cache, int seqLen, int rows)
    {
        if (!_sessions.CausalTakesPositions || !cache.WritesAllInPass(seqLen)) return false;
        if (Provider == ExecutionProvider.Cpu) return true;
        return Provider == ExecutionProvider.Cuda && (TakesRowsGraph(seqLen, rows) || seqLen == 1 && _xqaRotatesBudgets);
    }

    // Whether ONNX Runtime's CUDA GroupQueryAttention takes this model's one-token passes with its XQA kernel, by the
    // conditions of the source we read: head size 64, 128 or 256 and a query group that divides 64 (a model with its own
    // windows or soft-capped scores has no budget), unless ORT_ENABLE_XQA=0 switches XQA off (docs/benchmarks.md, round 15).
    internal static bool XqaDecodes(ModelManifest manifest) =>
        manifest.HeadDim is 64 or 128 or 256 && 64 % (manifest.NumHeads / manifest.NumKvHeads) == 0
        && Environment.GetEnvironmentVariable("ORT_ENABLE_XQA") != "0";

    // A layer-condensed model's causal graph takes decode steps (docs/ARCHITECTURE.md, "Layer-condensed KV"): one token per
    // row, each decoding row past its first position, where a layer without the diagonal admits nothing. Longer passes
    // iterate on the general graph.
    private static bool IsCondensedDecodeStep(KvCache cache, scoped in ForwardInputs inputs, int seqLen)
    {
        if (seqLen != 1) return false;
        for (var b = 0; b < cache.BatchSize; b++)
            if (inputs.Counts[b] > 0 && cache.Lengths[b] == 0) return false;
        return true;
    }

    // A causal pass GroupQueryAttention refuses ("batch_size must be 1 when sequence_length > 1 and past context is
    // given"): several tokens in several rows, the multi-row causal graph's.
    private static bool TakesRowsGraph(int seqLen, int batch) => seqLen > 1 && batch > 1;

    // The longest pass the multi-row causal graph takes. A grouped-query model's pass builds a causal bias of
    // batch x G·seqLen x capacity elements and reads it once per KV head and layer (Attention.GroupedCausalBias): at 32
    // tokens that is twice the cache's bytes on a 32-head, 4-KV-head model with 64 dims (and 138 MB at batch 32 x 8K
    // slots), 3 reads in all, still below the 8 of the ungrouped queries. Verification chains are far shorter, a draft
    // model's catch-up is cut to it (LongestRowsPass), and any longer pass at batch > 1 takes the general graph.
    private const int RowsGraphMaxTokens = 32;

    /// <inheritdoc />
    public int LongestRowsPass => RowsGraphMaxTokens;

    // On the CPU, ONNX Runtime's GroupQueryAttention reads the cache once per query head, the general graph's MatMul attention
    // once per KV head, so with many query heads per KV head the causal graph slows with the context faster: 1.1B int4
    // decode (32 query heads on 4 KV heads) at 2,048 tokens ran at 0.73-0.78x of its 512-token speed on the causal graph and
    // 0.89-0.92x on the general one (the bound says 0.92x); the two tie near 1,000 tokens (docs/benchmarks.md, "The causal
    // graph on the CPU"). So unless fused attention is forced on, CPU decode passes from this context on take the general
    // graph. Not where a KV head has at most two query heads: demo-code (4 on 2) kept the causal graph ahead at 1,024,
    // 2,048 and 4,096 tokens (batch 1 and 8: 827-1,007 / 1,465-1,479, 671-686 / 1,022-1,073 and 427-441 / 601-617 tok/s
    // against the general graph's 659-695 / 988-1,005, 395-526 / 724-764 and 271-313 / 426-460, two rounds). Nor a
    // layer-condensed model's: its causal graph (ONNX Attention, not GroupQueryAttention) stayed ahead at 1,536 and 4,096
    // tokens (demo-code-lckv at batch 1 and 16: 1,253-1,261 / 1,931-2,031 and 820-829 / 691-695 tok/s against the general
    // graph's 1,019-1,064 / 1,474-1,678 and 629-645 / 615-622, two rounds on the 2-core machine).
    private const int CpuCausalDecodeContext = 1024;

    // total_sequence_length: fixed for the cache's buffers (a captured graph keeps the value it was captured with), at
    // least every row's length after a causal pass, padding included, and within the rotary table, which GroupQueryAttention
    // checks it against: its rows reach the causal context and the padding rows past it (a longrope table's long rows
    // follow its short ones, so they are there too).
    private int CausalTotal(KvCache cache) => Math.Min(cache.Slots, CausalContext + Manifest.RotaryPaddingRows);

    // The last position + 1 a real token of a causal pass may take: causal_max_context, past which a longrope export's
    // passes take the general graph and its long factors, else the context limit.
    private int CausalContext => Manifest.CausalMaxContext ?? Manifest.MaxContext;

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

    private void Run(ForwardWorkspace ws) => _sessions.Run(ws, PassGraph.General);

    private static void FillInputs(ForwardWorkspace ws, KvCache cache, scoped in ForwardInputs inputs, int seqLen, int maxContext)
    {
        var ids = ws.Ids;
        var positions = ws.Positions;
        var logitsIndex = ws.LogitsIndex;
        for (var b = 0; b < ws.Rows; b++)
        {
            for (var j = 0; j < seqLen; j++)
            {
                var i = b * seqLen + j;
                ids[i] = j < inputs.Counts[b] ? inputs.Tokens[i] : 0;
                // Padding repeats the row's last position, and an idle row's is 0: a longrope export's general graph takes
                // the pass's largest position id to choose its factors (transformers' per-call switch), which padding and
                // idle rows must not raise.
                var position = !inputs.Positions.IsEmpty ? inputs.Positions[i]
                    : inputs.Counts[b] == 0 ? 0
                    : cache.Lengths[b] + Math.Min(j, inputs.Counts[b] - 1);
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

    /// <inheritdoc />
    public void Dispose()
    {
        _caches.Dispose();
        (_kvMemory as IDisposable)?.Dispose();
        _sessions.Dispose();
    }
}
