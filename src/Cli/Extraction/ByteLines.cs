namespace Condensa.Cli.Extraction;

/// <summary>Splits a stream into lines of raw bytes ('\n' ends a line, a trailing '\r' is dropped), so a line that is
/// not valid UTF-8 can be reported instead of being silently repaired the way a TextReader would.</summary>
internal static class ByteLines
{
    public static IEnumerable<byte[]> Read(Stream stream)
    {
        var buffer = new byte[64 * 1024];
        var line = new MemoryStream();
        int read;
        while ((read = stream.Read(buffer, 0, buffer.Length)) > 0)
        {
            var start = 0;
            int newline;
            while ((newline = Array.IndexOf(buffer, (byte)'\n', start, read - start)) >= 0)
            {
                line.Write(buffer, start, newline - start);
                yield return Trim(line);
                line.SetLength(0);
                start = newline + 1;
            }
            line.Write(buffer, start, read - start);
        }
        if (line.Length > 0) yield return Trim(line);
    }

    private static byte[] Trim(MemoryStream line)
    {
        var bytes = line.ToArray();
        return bytes is [.., (byte)'\r'] ? bytes[..^1] : bytes;
    }
}
