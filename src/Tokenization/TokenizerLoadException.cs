namespace Condensa.Tokenization;

/// <summary>
/// Thrown when a checkpoint folder's tokenizer files are missing, malformed or of a kind this library does not
/// support. The message names the file, and where one is at fault the field or value.
/// </summary>
public sealed class TokenizerLoadException : Exception
{
    /// <summary>Creates the exception with a message naming the file or field at fault.</summary>
    public TokenizerLoadException(string message) : base(message) { }

    /// <summary>Creates the exception with a message naming the file or field at fault and its cause.</summary>
    public TokenizerLoadException(string message, Exception innerException) : base(message, innerException) { }
}
