namespace Condensa.Runtime.Batching;

/// <summary>One document of a batch job: a caller-chosen id (echoed in its result) and the prompt's token ids.</summary>
/// <param name="Id">Caller's key for the document; results come back in completion order, so this is how they are matched.</param>
/// <param name="Prompt">Prompt token ids (at least one).</param>
public sealed record BatchRequest(long Id, IReadOnlyList<int> Prompt);
