namespace Condensa;

/// <summary>
/// The one error type of the runtime: its message names the file, field or value at fault, so a user can
/// act on it without a stack trace.
/// </summary>
public sealed class CondensaException : Exception
{
    /// <summary>Creates an error with a message that names the culprit.</summary>
    public CondensaException(string message) : base(message) { }

    /// <summary>Creates an error that wraps the low-level failure behind it.</summary>
    public CondensaException(string message, Exception inner) : base(message, inner) { }
}
