namespace Condensa;

/// <summary>
/// Checkpoint folders that share one tokenizer store it once: a folder without its own tokenizer files holds a one-line
/// <c>tokenizer.from</c> naming the folder (relative to itself) whose files it uses, as the demo drafts name demo-code.
/// The exporter copies and fingerprints the files found here, so an export of such a folder equals one made with the
/// files beside the weights; the tokenizer loader reads checkpoint folders through it too.
/// </summary>
public static class SharedTokenizer
{
    /// <summary>The indirection's file name.</summary>
    public const string FileName = "tokenizer.from";

    /// <summary>The path of file <paramref name="name"/> of the checkpoint: its own where it has one (so its own
    /// generation_config.json wins), else the shared folder's, else its own path (which does not exist).</summary>
    /// <exception cref="CondensaException"><see cref="FileName"/> names a folder that does not exist.</exception>
    public static string Find(string checkpointDir, string name)
    {
        var own = Path.Combine(checkpointDir, name);
        return File.Exists(own) || Folder(checkpointDir) is not { } shared ? own : Path.Combine(shared, name);
    }

    /// <summary>The folder <see cref="FileName"/> in <paramref name="checkpointDir"/> names, or null where there is none.</summary>
    /// <exception cref="CondensaException">The named folder does not exist.</exception>
    public static string? Folder(string checkpointDir)
    {
        var link = Path.Combine(checkpointDir, FileName);
        if (!File.Exists(link)) return null;
        var folder = Path.GetFullPath(Path.Combine(checkpointDir, File.ReadAllText(link).Trim()));
        return Directory.Exists(folder) ? folder : throw new CondensaException($"{link}: names the tokenizer folder '{folder}', which does not exist.");
    }
}
