namespace Condensa.Runtime.Generation;

/// <summary>The one rule for whether a prompt and its reply fit a sequence's context.</summary>
public static class ContextLimit
{
    /// <summary>Why <paramref name="promptTokens"/> (the entries a row will hold before generating) and up to
    /// <paramref name="maxNewTokens"/> new tokens do not fit <paramref name="limit"/>, or null when they do. The last
    /// generated token is never fed back, so prompt + max new - 1 slots suffice.</summary>
    public static string? Overflow(int promptTokens, int maxNewTokens, int limit) =>
        promptTokens + maxNewTokens - 1 <= limit ? null
        : $"Context overflow: prompt of {promptTokens} tokens + {maxNewTokens} new tokens exceeds the context limit of {limit} tokens. " +
          "Shorten the prompt or lower --max-tokens.";

    /// <summary>Throws <see cref="CondensaException"/> with <see cref="Overflow"/>'s message when the tokens do not fit.</summary>
    public static void Check(int promptTokens, int maxNewTokens, int limit)
    {
        if (Overflow(promptTokens, maxNewTokens, limit) is { } message) throw new CondensaException(message);
    }
}
