using Condensa.Runtime.Kv;
using Microsoft.ML.OnnxRuntime;

namespace Condensa.Runtime;

/// <summary>
/// KV buffers for a batch: one key and one value buffer per stored layer, each [batch, kvHeads, capacity, headDim],
/// and a length per row. A forward pass appends the new tokens of each row at that row's length; rewinding only moves
/// the length, since slots past it are masked out and overwritten by the next append. The buffers live in pinned host
/// memory or, on a GPU provider, in device memory (<see cref="KvResidence"/>); every edit is a list of entry moves
/// (<see cref="KvMoves"/>) that either memory carries out, except a pass's own entries, which the graph writes into the
/// buffers itself (kv_write_index). Each row has <see cref="ScratchSlots"/> slots past <see cref="Capacity"/>, never
/// admitted by a mask: a pass writes the entries it must not keep (padding, rows without new tokens) to the first.
/// </summary>
public sealed class KvCache : IDisposable
{
    private readonly ModelManifest _manifest;
    private readonly KvCacheOptions _options;
    private readonly KvMemory _memory;
    private readonly int[] _lengths;
    private readonly BudgetRows? _budgetRows;   // the slots a budgeted cache's rows fill

    /// <summary>
    /// Slots past the capacity of each row; the first is the scratch slot. A multiple of 8, as fp16 GEMMs on GPUs need
    /// for their fast kernels (measured on the H200: with a single scratch slot, decode at 8K context ran at about half the
    /// speed); sixteen, so that a causal pass of up to 16 tokens a row (a captured verification's longest padded length)
    /// can write a full row's padding past its capacity and stay on the causal graphs (DecoderModel.RunsCausal).
    /// </summary>
    internal const int ScratchSlots = 16;
    private readonly KvMoves _moves = new();
    private readonly KvMoves _compaction = new();   // a budget's rows dropping old entries, before entries from elsewhere join them
    private bool _lastPassInPlace = true;            // whether the last pass's entries are in the buffers (else in its new-KV outputs)
    private KvStorage _storage;
    private readonly KvCachePool? _pool;

    internal KvCache(ModelManifest manifest, int batchSize, KvCacheOptions options, KvMemory? memory = null, KvCachePool? pool = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.GrowthChunk, 1, nameof(options));
        _manifest = manifest;
        _options = options;
        _memory = memory ?? KvMemory.Host;
        _pool = pool;
        BatchSize = batchSize;
        MaxCapacity = Math.Min(options.MaxContext ?? manifest.MaxContext, manifest.MaxContext);
        _lengths = new int[batchSize];
        int capacity;
        if (options.Budget is { } budget)
        {
            budget.Validate();
            capacity = budget.Slots;
            _budgetRows = new BudgetRows(budget, batchSize);
        }
        else
        {
            capacity = InitialCapacityFor(options);
        }
        _storage = _memory.Allocate(manifest, 2 * StoredLayers, batchSize, capacity + ScratchSlots);
        try
        {
            Workspace = new ForwardWorkspace(manifest, batchSize, _memory, _memory.Capture);
        }
        catch
        {
            _storage.Dispose();   // as in EnsureCapacity: device memory is not left to its finalizer
            throw;
        }
    }

    /// <summary>Rows in the batch.</summary>
    public int BatchSize { get; }

    /// <summary>Slots per row currently allocated for tokens (the scratch slots not counted).</summary>
    public int Capacity => _storage.Slots - ScratchSlots;

    /// <summary>Slots per row in the buffers, the scratch slots included: the C of the graph's past inputs.</summary>
    internal int Slots => _storage.Slots;

    /// <summary>Whether every slot holds its own position (not a budget), so a pass writes each row's entries at its length.</summary>
    internal bool WritesInPass => _budgetRows is null;

    /// <summary>
    /// Whether a pass of <paramref name="seqLen"/> tokens per row writes every entry into the cache itself, at each row's
    /// <see cref="Fills"/> (the graph's kv_write_index, or GroupQueryAttention's append), none into the scratch slot for an
    /// <see cref="Append"/> after it, a separate run that on cuda took as long as the pass (round 10). A budgeted pass may
    /// when its slack holds the pass (<see cref="MakeRoom"/> drops old entries first).
    /// </summary>
    internal bool WritesAllInPass(int seqLen) => _budgetRows is null || seqLen <= _budgetRows.Budget.Slack;

    /// <summary>Slots each row fills: its length, but in a budgeted cache, which drops old positions (<see cref="KvBudget"/>).
    /// A pass writes a row's entries from there and attends to the slots before them.</summary>
    internal ReadOnlySpan<int> Fills => _budgetRows is null ? _lengths : _budgetRows.Fills;

    /// <summary>Whether the buffers live in device memory (a GPU provider's, or ONNX Runtime's on the CPU when
    /// <see cref="KvResidence.Device"/> is asked for).</summary>
    public bool OnDevice => _storage.OnDevice;

    /// <summary>The most slots a row may ever hold.</summary>
    public int MaxCapacity { get; }

    /// <summary>Number of layers that store KV (fewer than the model's layers for a layer-condensed model).</summary>
    public int StoredLayers => _manifest.KvLayers.Length;

    /// <summary>Tokens cached per row.</summary>
    public ReadOnlySpan<int> Lengths => _lengths;

    /// <summary>KV bytes one token costs in this cache.</summary>
    public long BytesPerToken => _manifest.KvBytesPerToken;

    /// <summary>The sink + window budget, or null for a cache that keeps every position.</summary>
    public KvBudget? Budget => _budgetRows?.Budget;

    /// <summary>Bytes of KV actually held: the tokens kept per row (all of them, or at most the budget) times
    /// <see cref="BytesPerToken"/>.</summary>
    public long UsedBytes
    {
        get
        {
            // read after every pass by the decode loop: a plain loop, no delegate
            var held = 0L;
            foreach (var fill in Fills) held += fill;
            return held * BytesPerToken;
        }
    }

    /// <summary>Bytes allocated for the buffers (all rows, full capacity).</summary>
    public long AllocatedBytes => (long)BatchSize * Capacity * BytesPerToken;   // token slots; the scratch slots add 8 per row

    /// <summary>Increments whenever the buffers are reallocated, so bound OrtValues know to rebind.</summary>
    internal int Generation { get; private set; }

    internal ForwardWorkspace Workspace { get; }

    /// <summary>The manifest of the model the cache belongs to.</summary>
    internal ModelManifest Manifest => _manifest;

    /// <summary>The options the cache was made with (a reused cache is handed out for ones that fit, <see cref="KvCachePool.Fits"/>).</summary>
    internal KvCacheOptions Options => _options;

    /// <summary>Token slots per row a cache made with <paramref name="options"/> for this model starts with.</summary>
    internal int InitialCapacityFor(KvCacheOptions options) =>
        Math.Min(MaxCapacity, RoundUp(Math.Max(options.InitialCapacity, 1), options.GrowthChunk));

    /// <summary>Whether the buffers are freed.</summary>
    internal bool Released { get; private set; }

    /// <summary>A cache in host memory for the model <paramref name="manifest"/> describes: what an <see cref="IDecoder"/>
    /// outside this assembly (a fake model in tests, a wrapper) hands the loops. <see cref="CommitWritten"/> records its passes.</summary>
    public static KvCache OnHost(ModelManifest manifest, int batchSize, KvCacheOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        return new KvCache(manifest, batchSize, options ?? new KvCacheOptions());
    }

    /// <summary>Records a pass that wrote counts[b] new entries at the end of each row, growing the buffers first (what a
    /// model implementation does after writing them). Not for budgeted caches, which drop old entries as they go.</summary>
    public void CommitWritten(ReadOnlySpan<int> counts)
    {
        if (_budgetRows is not null) throw new InvalidOperationException("a budgeted cache takes its entries through its model's passes, not CommitWritten");
        if (counts.Length != BatchSize) throw new ArgumentException($"counts has {counts.Length} rows; the cache has {BatchSize}.", nameof(counts));
        var needed = 0;
        for (var b = 0; b < BatchSize; b++) needed = Math.Max(needed, _lengths[b] + counts[b]);
        EnsureCapacity(needed);
        Advance(counts);
    }

    /// <summary>Forgets everything past <paramref name="length"/> tokens in one row.</summary>
    public void RewindTo(int row, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (length > _lengths[row])
            throw new ArgumentOutOfRangeException(nameof(length), $"row {row} holds {_lengths[row]} tokens; cannot rewind forward to {length}.");
        _budgetRows?.Rewind(row, _lengths[row], length);
        _lengths[row] = length;
    }

    /// <summary>
    /// After a pass appended a flattened token tree to <paramref name="row"/> at [start, start + n), keeps the entries
    /// <paramref name="keptIndices"/> (ascending, relative to start: the accepted path) in consecutive slots from
    /// <paramref name="start"/> and forgets the rest, as if only that path had ever been appended (in a budgeted cache, from
    /// the slot that held <paramref name="start"/>).
    /// </summary>
    public void KeepPath(int row, int start, ReadOnlySpan<int> keptIndices)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        for (var i = 0; i < keptIndices.Length; i++)
            if (keptIndices[i] < (i == 0 ? 0 : keptIndices[i - 1] + 1) || start + keptIndices[i] >= _lengths[row])
                throw new ArgumentException($"kept indices must ascend and lie within row {row}'s {_lengths[row] - start} entries after {start}.",
                    nameof(keptIndices));
        if (_budgetRows is not null && keptIndices.Length > 0 && !_budgetRows.Holds(row, _lengths[row], start))
            throw new ArgumentException($"row {row} no longer holds position {start}: a budgeted cache's tree must fit its slack " +
                $"({_budgetRows.Budget.Slack} tokens), else its oldest nodes are dropped.", nameof(start));
        _moves.Clear();
        for (var i = 0; i < keptIndices.Length; i++)
        {
            // Ascending indices move entries down only (index >= i), so no source is overwritten before it is read.
            var (from, to) = (SlotOf(row, start + keptIndices[i]), SlotOf(row, start + i));
            if (from != to) _moves.Add(row, from, row, to, 1);
        }
        _storage.Copy(_storage, _moves);
        RewindTo(row, start + keptIndices.Length);
    }

    /// <summary>Forgets everything past <paramref name="length"/> tokens in every row.</summary>
    public void RewindTo(int length)
    {
        for (var row = 0; row < BatchSize; row++) RewindTo(row, Math.Min(length, _lengths[row]));
    }

    /// <summary>Empties every row.</summary>
    public void Clear()
    {
        Array.Clear(_lengths);
        _budgetRows?.Clear();
    }

    // The slot that holds a position the row holds.
    private int SlotOf(int row, int position) => _budgetRows?.SlotOf(row, _lengths[row], position) ?? position;

    /// <summary>
    /// Appends the first counts[b] new entries of this cache's last forward pass to <paramref name="destination"/>
    /// (a cache of the same model, e.g. a self-speculation draft's budget), at the destination rows' lengths.
    /// The destination rows must end where that pass started, so the entries land at their own positions. A pass that
    /// wrote into the cache (<see cref="WritesAllInPass"/>) gives each row's last counts[b] entries, so a row rewound to
    /// its accepted tokens since the pass gives those.
    /// </summary>
    public void CopyLastPassInto(KvCache destination, ReadOnlySpan<int> counts)
    {
        CheckCopyTarget(destination);
        if (destination.BatchSize != BatchSize) throw new ArgumentException("destination has another batch size", nameof(destination));
        if (counts.Length != BatchSize) throw new ArgumentException($"counts has {counts.Length} rows; the cache has {BatchSize}.", nameof(counts));
        if (!_lastPassInPlace)
        {
            destination.Append(Workspace.NewKv, counts);   // checks counts against the pass's length
            return;
        }
        Span<int> starts = stackalloc int[BatchSize];
        for (var b = 0; b < BatchSize; b++) starts[b] = LastEntriesStart(b, counts[b]);
        destination.Append(_storage, counts, starts);
    }

    /// <summary>Appends the last <paramref name="count"/> entries of this cache's last pass in <paramref name="sourceRow"/>
    /// (as <see cref="CopyLastPassInto"/>) to <paramref name="row"/> of <paramref name="destination"/> at its length
    /// (a side cache's prefill chunk into a batch row; a target's prefill or accepted tokens into a draft budget).</summary>
    public void CopyLastPassRowInto(KvCache destination, int sourceRow, int row, int count)
    {
        CheckCopyTarget(destination);
        if (_lastPassInPlace) destination.AppendRow(_storage, sourceRow, LastEntriesStart(sourceRow, count), row, count);
        else destination.AppendRow(Workspace.NewKv, sourceRow, 0, row, count);
    }

    /// <summary>Appends entries [<paramref name="start"/>, start + <paramref name="count"/>) of <paramref name="sourceRow"/>
    /// to <paramref name="row"/> of <paramref name="destination"/> at its length (a conversation's KV into a draft budget).
    /// Not from a budgeted cache, which does not hold every position.</summary>
    public void CopyRowInto(KvCache destination, int sourceRow, int start, int count, int row)
    {
        CheckCopyTarget(destination);
        if (!WritesInPass) throw new InvalidOperationException("a budgeted cache does not hold every position; copy from a full cache");
        if (start < 0 || count < 0 || start + count > _lengths[sourceRow])
            throw new ArgumentOutOfRangeException(nameof(count), $"row {sourceRow} holds {_lengths[sourceRow]} entries, not [{start}, {start + count}).");
        destination.AppendRow(_storage, sourceRow, start, row, count);
    }

    // A cache this one's entries may be copied into: the same model's, or another export of its checkpoint whose KV is
    // float32's or half precision's (a self-speculation drafter's budget; KvConversion converts).
    private void CheckCopyTarget(KvCache destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var other = destination._manifest;
        if (other.KvLayers.Length != StoredLayers || other.NumKvHeads != _manifest.NumKvHeads || other.HeadDim != _manifest.HeadDim)
            throw new ArgumentException("destination belongs to another model", nameof(destination));
        KvConversion.Check(_manifest.KvType, other.KvType);
    }

    private int LastEntriesStart(int row, int count)
    {
        if ((uint)count > (uint)Fills[row])
            throw new ArgumentOutOfRangeException(nameof(count), $"row {row} holds {Fills[row]} entries, fewer than {count}.");
        return Fills[row] - count;
    }

    /// <summary>Fills attention_span and attention_new for a pass over this cache's slots in its first <paramref name="rows"/>
    /// rows (see <see cref="AttentionMask"/>).</summary>
    internal void BuildMask(Span<long> spans, Span<float> newBias, int rows, ReadOnlySpan<int> counts, int seqLen, int? slidingWindow,
        ReadOnlySpan<bool> visibility, ReadOnlySpan<long> positions)
    {
        counts = counts[..rows];
        if (!visibility.IsEmpty) visibility = visibility[..(rows * seqLen * seqLen)];
        if (!positions.IsEmpty) positions = positions[..(rows * seqLen)];
        // A budgeted row's slots are not its positions, and a query sees every slot it fills: no window in slot terms.
        AttentionMask.Build(spans, newBias, Fills[..rows], counts, seqLen, _budgetRows is null ? slidingWindow : null, visibility, positions);
    }

    /// <summary>
    /// Fills kv_write_index [rows, kvHeads, seqLen, 3] with (row, head, slot): where the graph writes each new entry of a
    /// pass of counts[b] tokens per row over the first <paramref name="rows"/> rows. A kept entry goes to its row's next slots,
    /// from its <see cref="Fills"/>; padding, and a budgeted pass longer than the slack, goes to the scratch slot.
    /// </summary>
    internal void FillWriteIndex(Span<long> index, int rows, ReadOnlySpan<int> counts, int seqLen)
    {
        var heads = _manifest.NumKvHeads;
        var scratch = Capacity;
        var writes = WritesAllInPass(seqLen);
        var fills = Fills;
        for (var b = 0; b < rows; b++)
        for (var h = 0; h < heads; h++)
        for (var j = 0; j < seqLen; j++)
        {
            var i = 3 * ((b * heads + h) * seqLen + j);
            index[i] = b;
            index[i + 1] = h;
            index[i + 2] = writes && j < counts[b] ? fills[b] + j : scratch;
        }
    }

    /// <summary>Edits of this cache's buffers since they were last allocated that ran kv_write_entries (tests).</summary>
    internal int EntriesWrites => _storage is DeviceKvStorage device ? device.EntriesWrites : 0;

    /// <summary>Copies of the device buffers made as strided memory copies (tests).</summary>
    internal int SpanCopies => _storage is DeviceKvStorage device ? device.SpanCopies : 0;

    /// <summary>A host copy of the key buffer of the i-th stored layer, [batch, kvHeads, capacity, headDim] in the
    /// model dtype (tests and diagnostics).</summary>
    internal ReadOnlySpan<byte> KeyBytes(int storedLayer) => TokenSlots(_storage.Read(2 * storedLayer));

    /// <summary>A host copy of the value buffer of the i-th stored layer, same layout as <see cref="KeyBytes"/>.</summary>
    internal ReadOnlySpan<byte> ValueBytes(int storedLayer) => TokenSlots(_storage.Read(2 * storedLayer + 1));

    // A tensor [batch, kvHeads, slots, headDim] without its scratch slots: [batch, kvHeads, capacity, headDim].
    private byte[] TokenSlots(byte[] tensor)
    {
        var entry = _storage.EntryBytes;
        var rows = BatchSize * _manifest.NumKvHeads;
        var kept = new byte[rows * Capacity * entry];
        for (var r = 0; r < rows; r++)
            tensor.AsSpan(r * Slots * entry, Capacity * entry).CopyTo(kept.AsSpan(r * Capacity * entry));
        return kept;
    }

    /// <summary>Grows the buffers now so each row can hold <paramref name="slots"/> tokens (at most <see cref="MaxCapacity"/>;
    /// a budgeted cache never grows). A cache that follows another one (a draft model's beside its target's) sized this way
    /// does not regrow mid-generation, which copies every entry and, on cuda, captures every pass shape again.</summary>
    public void Reserve(int slots) => EnsureCapacity(Math.Min(slots, MaxCapacity));

    /// <summary>Grows every buffer so each row can hold <paramref name="slots"/> tokens, keeping what rows hold.</summary>
    internal void EnsureCapacity(int slots)
    {
        if (_budgetRows is not null && slots <= MaxCapacity) return;   // a budget never grows; its rows drop old positions
        if (slots <= Capacity) return;
        if (slots > MaxCapacity)
            throw new CondensaException($"Context overflow: {slots} tokens needed in one sequence, but the limit is {MaxCapacity} " +
                $"(model max_context {_manifest.MaxContext}). Shorten the prompt or lower --max-tokens.");
        var capacity = Math.Min(MaxCapacity, RoundUp(slots, _options.GrowthChunk));
        var grown = _memory.Allocate(_manifest, 2 * StoredLayers, BatchSize, capacity + ScratchSlots);
        _moves.Clear();
        for (var b = 0; b < BatchSize; b++) _moves.Add(b, 0, b, 0, _lengths[b]);
        try
        {
            grown.Copy(_storage, _moves);
        }
        catch
        {
            // disposed now: on a device, memory left to its finalizer is freed into the model's allocator, which by then
            // may be gone (a crash of the whole process at some later garbage collection)
            grown.Dispose();
            throw;
        }
        _storage.Dispose();
        _storage = grown;
        Generation++;
    }

    /// <summary>OrtValues over the buffers, in graph order (past.{l}.key, past.{l}.value for each stored layer).</summary>
    internal OrtValue[] PastValues() => _storage.Values(BatchSize);

    /// <summary>OrtValues over the buffers' first <paramref name="rows"/> rows, in graph order: the past of a pass over the
    /// leading rows alone (<see cref="ViewsLeadingRows"/>).</summary>
    internal OrtValue[] PastValues(int rows) => _storage.Values(rows);

    /// <summary>Whether a pass may run over the leading rows alone (the buffers can be viewed so).</summary>
    internal bool ViewsLeadingRows => _storage.ViewsRows;

    /// <summary>The rows a pass over the first <paramref name="rows"/> of a batch of <paramref name="batch"/> covers: the power
    /// of two at or above them, at most the batch, so that captured passes come in few row counts. The model's passes
    /// (DecoderModel.PassRows) and the decode loop's packing (DecodeLoop.PackRows) share it.</summary>
    internal static int LeadingRows(int rows, int batch) =>
        Math.Min(batch, (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(rows, 1)));

    /// <summary>
    /// Moves each move's From row into its To row, which must be empty and no move's source, at the same slots, and empties
    /// the From rows: the decode loop packs its documents into the leading rows, which passes then run over alone (a static
    /// batch's last documents, say). One copy of all the rows' entries: on a device, one run.
    /// </summary>
    public void MoveRows(ReadOnlySpan<RowMove> moves)
    {
        _moves.Clear();
        foreach (var (from, to) in moves)
        {
            if (_lengths[to] != 0 || ContainsSource(moves, to))
                throw new InvalidOperationException($"row {to} holds {_lengths[to]} tokens or moves out itself; a row moves only into an empty one.");
            _moves.Add(from, 0, to, 0, Fills[from]);
        }
        _storage.Copy(_storage, _moves);
        foreach (var (from, to) in moves)
        {
            (_lengths[to], _lengths[from]) = (_lengths[from], 0);
            _budgetRows?.Move(from, to);
        }
    }

    private static bool ContainsSource(ReadOnlySpan<RowMove> moves, int row)
    {
        foreach (var move in moves)
            if (move.From == row) return true;
        return false;
    }

    /// <summary>
    /// Appends the first counts[b] entries of row b of <paramref name="source"/> (a pass's new KV, [batch, kvHeads,
    /// seqLen, headDim] per tensor) at each row's length, and advances the lengths.
    /// </summary>
    /// <param name="source">[batch, kvHeads, slots, headDim] per tensor.</param>
    /// <param name="counts">[batch] entries to take per row.</param>
    /// <param name="sourceStarts">[batch] the slot of each row's first entry in <paramref name="source"/>; empty = 0.</param>
    internal void Append(KvStorage source, ReadOnlySpan<int> counts, ReadOnlySpan<int> sourceStarts = default)
    {
        for (var b = 0; b < BatchSize; b++)
        {
            var start = sourceStarts.IsEmpty ? 0 : sourceStarts[b];
            if ((uint)counts[b] > (uint)(source.Slots - start))
                throw new ArgumentOutOfRangeException(nameof(counts), $"counts[{b}] = {counts[b]} exceeds the source's {source.Slots - start} entries.");
        }
        var needed = 0;
        for (var b = 0; b < BatchSize; b++) needed = Math.Max(needed, _lengths[b] + counts[b]);
        EnsureCapacity(needed);
        _moves.Clear();
        _compaction.Clear();
        for (var b = 0; b < BatchSize; b++) AddAppend(sourceStarts.IsEmpty ? 0 : sourceStarts[b], b, counts[b]);
        Copy(source);
    }

    /// <summary>Appends <paramref name="count"/> entries of row <paramref name="sourceRow"/> of <paramref name="source"/>,
    /// from slot <paramref name="sourceStart"/>, to row <paramref name="row"/> (a side cache's prefill chunk into a batch row).</summary>
    internal void AppendRow(KvStorage source, int sourceRow, int sourceStart, int row, int count)
    {
        EnsureCapacity(_lengths[row] + count);
        _moves.Clear();
        _compaction.Clear();
        AddAppend(sourceStart, row, count, sourceRow);
        Copy(source);
    }

    /// <summary>Adds the moves of entries sourceStart .. sourceStart + count - 1 of a source row (<paramref name="row"/>
    /// unless <paramref name="sourceRow"/> says) into <paramref name="row"/> from its <see cref="Fills"/>, and advances the
    /// row. A budgeted row first makes room (<see cref="BudgetRows.MakeRoom"/>: its compaction goes to _compaction) and takes
    /// only the entries it keeps.</summary>
    private void AddAppend(int sourceStart, int row, int count, int sourceRow = -1)
    {
        if (sourceRow < 0) sourceRow = row;
        if (_budgetRows is null)
        {
            System.Diagnostics.Debug.Assert(_lengths[row] + count <= Capacity, "EnsureCapacity must run before an append");
            _moves.Add(sourceRow, sourceStart, row, _lengths[row], count);
            _lengths[row] += count;
            return;
        }
        var dropped = _budgetRows.MakeRoom(row, _lengths[row], count, Capacity, _compaction);
        var sinkEntries = Math.Clamp(_budgetRows.Budget.Sinks - _lengths[row], 0, count);
        var fill = _budgetRows.Fills[row];
        _moves.Add(sourceRow, sourceStart, row, fill, sinkEntries);
        _moves.Add(sourceRow, sourceStart + sinkEntries + dropped, row, fill + sinkEntries, count - sinkEntries - dropped);
        _budgetRows.Fills[row] = fill + count - dropped;
        _lengths[row] += count;
    }

    // Runs the budget's compaction, then the appends from the source (which may be this cache's own buffers).
    private void Copy(KvStorage source)
    {
        Compact();
        _storage.Copy(source, _moves);
    }

    // A budget's rows dropping their oldest recent entries (_compaction, from BudgetRows.MakeRoom), all rows in one copy.
    private void Compact()
    {
        if (_compaction.Count > 0) _storage.Copy(_storage, _compaction);
    }

    /// <summary>
    /// Before a pass that writes its entries into the cache (<see cref="WritesAllInPass"/>): a budgeted row that cannot take
    /// its counts[b] entries from its <see cref="Fills"/> drops its oldest recent entries first, all rows in one copy.
    /// Nothing to do for a cache that keeps every position (<see cref="EnsureCapacity"/> grows it).
    /// </summary>
    internal void MakeRoom(ReadOnlySpan<int> counts)
    {
        if (_budgetRows is null) return;
        _compaction.Clear();
        for (var b = 0; b < BatchSize; b++)
        {
            if (counts[b] == 0) continue;
            var dropped = _budgetRows.MakeRoom(b, _lengths[b], counts[b], Capacity, _compaction);
            System.Diagnostics.Debug.Assert(dropped == 0, "a pass within the slack keeps every entry");
        }
        Compact();
    }

    /// <summary>After a forward pass of <paramref name="seqLen"/> tokens per row: each row keeps the first counts[b] entries,
    /// which the pass wrote from the row's <see cref="Fills"/> (<see cref="WritesAllInPass"/>), or which a budgeted cache
    /// now appends from the pass's outputs.</summary>
    internal void CommitPass(ReadOnlySpan<int> counts, int seqLen)
    {
        _lastPassInPlace = WritesAllInPass(seqLen);
        if (_lastPassInPlace) Advance(counts);
        else Append(Workspace.NewKv, counts);
    }

    /// <summary>Adds counts[b] to each row's length, and fill (after its entries were written, or for a synthetic context).</summary>
    internal void Advance(ReadOnlySpan<int> counts)
    {
        for (var b = 0; b < BatchSize; b++) _lengths[b] += counts[b];
        if (_budgetRows is null) return;
        for (var b = 0; b < BatchSize; b++) _budgetRows.Fills[b] += counts[b];
    }

    /// <summary>Hands the cache back to its model, which keeps it (buffers, captured CUDA graphs) for the next cache of the
    /// same batch size and options, or frees it (<see cref="KvCachePool"/>). A disposed cache must not be used again.</summary>
    public void Dispose()
    {
        if (_pool is not null && _pool.Return(this)) return;
        Release();
    }

    /// <summary>Frees the buffers and the pass scratch, once.</summary>
    internal void Release()
    {
        if (Released) return;
        Released = true;
        Workspace.Dispose();
        _storage.Dispose();
    }

    private static int RoundUp(int value, int chunk) => (value + chunk - 1) / chunk * chunk;
}
