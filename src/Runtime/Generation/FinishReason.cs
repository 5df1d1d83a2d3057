namespace Condensa.Runtime.Generation;

/// <summary>Why a sequence stopped.</summary>
public enum FinishReason
{
    /// <summary>It produced a stop token.</summary>
    Stop,
    /// <summary>It reached the token limit.</summary>
    Length,
    /// <summary>It was cancelled.</summary>
    Cancelled,
}
