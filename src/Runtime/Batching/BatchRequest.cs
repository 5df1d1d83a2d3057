using Condensa.Runtime.Generation;

namespace Condensa.Runtime.Batching;

/// <summary>One document of a batch job: a caller-chosen id (echoed in its result) and the prompt's token ids.</summary>
/// <param name="Id">Caller's key for the document; results come back in completion order, so this is how they are matched.</param>
/// <param name="Prompt">Prompt token ids (at least one).</param>
/// <param name="Generation">This document's length, sampling and stop tokens; null takes the job's
/// <see cref="BatchOptions.Generation"/>. A server gives every request its own.</param>
/// <param name="Cancellation">Cancels this document only: it ends with <see cref="FinishReason.Cancelled"/> before the
/// next decode pass and its row is freed for the next request.</param>
/// <param name="OnToken">Called on the batcher's thread with each committed token, in order, as it is committed (for
/// streaming); must be quick and must not throw.</param>
/// <param name="Cached">The tokens the row's cache already holds, in order, when a conversation continues in a kept cache
/// (batch 1); the prompt is appended after them. Drafters and the repetition penalty read them with the prompt.</param>
public sealed record BatchRequest(long Id, IReadOnlyList<int> Prompt, GenerationOptions? Generation = null,
    CancellationToken Cancellation = default, Action<int>? OnToken = null, IReadOnlyList<int>? Cached = null);
