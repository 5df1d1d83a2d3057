namespace Condensa.Export;

/// <summary>
/// The one error type of the exporter. Its message names the file, field, tensor or value at fault, so a
/// user can fix the checkpoint (or pick a supported one) without reading the exporter's source.
/// </summary>
public sealed class ExportException : Exception
{
    /// <summary>Creates an export error with a message that names the culprit.</summary>
    public ExportException(string message) : base(message) { }

    /// <summary>Creates an export error that wraps the lower-level cause (I/O, JSON).</summary>
    public ExportException(string message, Exception inner) : base(message, inner) { }
}
