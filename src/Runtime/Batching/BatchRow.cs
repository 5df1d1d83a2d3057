using Condensa.Runtime.Generation;
using Condensa.Runtime.Sampling;

namespace Condensa.Runtime.Batching;

/// <summary>
/// One row of a continuous batch: the document it holds, how much of its prompt is in the cache, and its tokens.
/// A row is empty, prefilling (prompt chunks still to feed) or decoding (its last token is not in the cache yet).
/// Decode steps read <see cref="Tokens"/>, <see cref="Sampler"/> and <see cref="Room"/> and write <see cref="Emitted"/>.
/// </summary>
public sealed class BatchRow
{
    internal BatchRow(int index) => Index = index;

    /// <summary>Row index in the KV cache.</summary>
    public int Index { get; }

    /// <summary>True while the row generates: its prompt is in the cache and <see cref="Tokens"/>[^1] is not yet.</summary>
    public bool IsDecoding => Request is not null && Prefilled == Request.Prompt.Count;

    /// <summary>Cached tokens (a continued conversation's) + prompt + committed output: entry i sits at cache position i.
    /// The repetition penalty reads it; drafters draft from it.</summary>
    public List<int> Tokens { get; } = [];

    /// <summary>This document's sampler (a fresh one per document, so a seed gives the same text as a run on its own).</summary>
    public TokenSampler Sampler { get; internal set; } = null!;

    /// <summary>Most tokens the next step may commit for this row (the length limit; at least 1 while decoding).</summary>
    public int Room { get; internal set; }

    /// <summary>Tokens the last decode step committed for this row, in order (at least one for a decoding row).</summary>
    public List<int> Emitted { get; } = [];

    /// <summary>Adds a speculative step's drafts for this row in one pass: proposed, and accepted by the target.</summary>
    public void CountDrafts(int proposed, int accepted)
    {
        DraftsProposed += proposed;
        DraftsAccepted += accepted;
    }

    internal int DraftsProposed { get; private set; }
    internal int DraftsAccepted { get; private set; }
    internal BatchRequest? Request { get; private set; }
    internal GenerationOptions Generation { get; private set; } = null!;   // the request's own or the job's
    internal int Prefilled { get; set; }                       // prompt tokens already in the cache
    internal int OutputCount { get; set; }                     // generated tokens so far
    internal int OutputStart { get; private set; }             // index in Tokens of the first generated token
    internal long StartTimestamp { get; private set; }
    internal FinishReason? Finish { get; set; }

    internal bool IsEmpty => Request is null;
    internal bool IsPrefilling => Request is not null && Prefilled < Request.Prompt.Count;

    internal void Admit(BatchRequest request, GenerationOptions generation, TokenSampler sampler, long timestamp)
    {
        Request = request;
        Generation = generation;
        Sampler = sampler;
        StartTimestamp = timestamp;
        Prefilled = 0;
        OutputCount = 0;
        (DraftsProposed, DraftsAccepted) = (0, 0);
        Finish = null;
        Tokens.Clear();
        if (request.Cached is not null) Tokens.AddRange(request.Cached);
        Tokens.AddRange(request.Prompt);
        OutputStart = Tokens.Count;
        Emitted.Clear();
    }

    /// <summary>Hands this row's document, at whatever point it is, to the empty row <paramref name="other"/> (the loop packs
    /// documents into the leading rows) and empties this one.</summary>
    internal void MoveTo(BatchRow other)
    {
        if (!other.IsEmpty) throw new InvalidOperationException($"row {other.Index} holds a document; a document moves only into an empty row.");
        other.Request = Request;
        other.Generation = Generation;
        other.Sampler = Sampler;
        other.StartTimestamp = StartTimestamp;
        other.Prefilled = Prefilled;
        other.OutputCount = OutputCount;
        other.OutputStart = OutputStart;
        other.Room = Room;
        other.Finish = Finish;
        (other.DraftsProposed, other.DraftsAccepted) = (DraftsProposed, DraftsAccepted);
        other.Tokens.AddRange(Tokens);
        other.Emitted.AddRange(Emitted);
        Release();
    }

    internal void Release()
    {
        Request = null;
        Tokens.Clear();
        Emitted.Clear();
    }
}
