using System.Text;

namespace Condensa.Cli;

/// <summary>
/// Text the user hands in (prompt files, standard input, prompt templates, perplexity text): strict UTF-8, so a file in
/// another encoding is an error naming it instead of text silently altered by U+FFFD replacement characters.
/// </summary>
internal static class TextFiles
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The text of <paramref name="path"/> (a leading byte-order mark dropped); <paramref name="what"/> names the
    /// file's role in errors, e.g. "--prompt-file".</summary>
    /// <exception cref="IOException">The file is missing or not valid UTF-8.</exception>
    public static string ReadUtf8(string path, string what)
    {
        if (!File.Exists(path)) throw new IOException($"{path}: {what} not found.");
        return Decode(File.ReadAllBytes(path), path);
    }

    /// <summary>All of standard input as strict UTF-8.</summary>
    public static string ReadStandardInput()
    {
        using var stdin = Console.OpenStandardInput();
        using var bytes = new MemoryStream();
        stdin.CopyTo(bytes);
        return Decode(bytes.ToArray(), "standard input");
    }

    /// <summary><paramref name="bytes"/> as strict UTF-8; <paramref name="source"/> names them in the error.</summary>
    public static string Decode(byte[] bytes, string source)
    {
        try
        {
            var text = StrictUtf8.GetString(bytes);
            return text.Length > 0 && text[0] == '\uFEFF' ? text[1..] : text;
        }
        catch (DecoderFallbackException e)
        {
            throw new IOException($"{source}: not valid UTF-8 (byte {e.Index}); save it as UTF-8.", e);
        }
    }
}
