namespace Condensa.Runtime.Generation;

/// <summary>The output of one sequence of a batch.</summary>
/// <param name="Tokens">Generated tokens, the stop token included when one ended the sequence.</param>
/// <param name="FinishReason">Why the sequence stopped.</param>
public sealed record GenerationResult(IReadOnlyList<int> Tokens, FinishReason FinishReason);
