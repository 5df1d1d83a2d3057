using Condensa.Runtime.Generation;

namespace Condensa.Runtime.Batching;

/// <summary>
/// The outcome of one <see cref="BatchRequest"/>: its generated tokens, or why it could not run (the job goes on).
/// </summary>
/// <param name="Id">The request's id.</param>
/// <param name="Tokens">Generated tokens, the stop token included when one ended the sequence; empty on error.</param>
/// <param name="FinishReason">Why generation stopped; null on error.</param>
/// <param name="PromptTokens">Tokens in the prompt.</param>
/// <param name="Elapsed">Wall time from the document taking a batch row to its last token (shared passes included).</param>
/// <param name="Error">Why the document was refused (e.g. it does not fit the context), or null.</param>
public sealed record BatchResult(long Id, IReadOnlyList<int> Tokens, FinishReason? FinishReason, int PromptTokens, TimeSpan Elapsed, string? Error)
{
    /// <summary>Tokens a speculative step drafted for this document (0 with plain decoding).</summary>
    public int DraftsProposed { get; init; }

    /// <summary>Drafted tokens the target accepted.</summary>
    public int DraftsAccepted { get; init; }

    /// <summary>True when the document was generated.</summary>
    public bool Succeeded => Error is null;

    /// <summary>A refused document.</summary>
    public static BatchResult Failed(BatchRequest request, string error) => new(request.Id, [], null, request.Prompt.Count, TimeSpan.Zero, error);
}
