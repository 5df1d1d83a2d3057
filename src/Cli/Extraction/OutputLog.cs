using System.Text;
using System.Text.Json;

namespace Condensa.Cli.Extraction;

/// <summary>
/// The output JSONL file, written so a crash at any point loses no finished record: each record is one line,
/// written with a single append and flushed to the disk (fsync) before the next. A crash can leave at most a torn
/// last line; <see cref="Open"/> with resume cuts it off and returns the keys of the complete records, so a resumed
/// run neither repeats nor skips one.
/// </summary>
internal sealed class OutputLog : IDisposable
{
    private readonly OutputLock _lock;
    private readonly FileStream _stream;

    private OutputLog(OutputLock outputLock, FileStream stream, HashSet<string> done)
    {
        _lock = outputLock;
        _stream = stream;
        Done = done;
    }

    /// <summary>Keys (<see cref="InputRecord.Key"/>) of the records already in the file.</summary>
    public IReadOnlySet<string> Done { get; }

    /// <summary>Takes the output's lock (<see cref="OutputLock"/>; another job on it is refused at once) and opens
    /// <paramref name="path"/> for appending. Without <paramref name="resume"/> a non-empty file is refused rather than
    /// overwritten (it may be another run's finished work).</summary>
    public static OutputLog Open(string path, bool resume)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        var outputLock = OutputLock.Acquire(path);   // first: nothing below may read or cut a file another job appends to
        FileStream? stream = null;
        try
        {
            stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
            if (stream.Length > 0 && !resume)
                throw new IOException($"{path}: the output file already holds records; pass --resume to continue it, or remove it to start over.");
            var done = ReadDone(path, stream);
            stream.Seek(0, SeekOrigin.End);
            return new OutputLog(outputLock, stream, done);
        }
        catch
        {
            stream?.Dispose();
            outputLock.Dispose();
            throw;
        }
    }

    /// <summary>Appends one record as a line and forces it to the disk before returning.</summary>
    public void Append(ReadOnlySpan<byte> json)
    {
        var line = new byte[json.Length + 1];
        json.CopyTo(line);
        line[^1] = (byte)'\n';
        _stream.Write(line);          // one write: a crash leaves the line whole or torn at the end, never interleaved
        _stream.Flush(flushToDisk: true);
    }

    /// <summary>Truncates a torn last line (one without its newline), then reads the complete lines' keys.</summary>
    private static HashSet<string> ReadDone(string path, FileStream stream)
    {
        stream.SetLength(CompleteLength(stream));   // the torn record is redone
        stream.Seek(0, SeekOrigin.Begin);
        var done = new HashSet<string>(StringComparer.Ordinal);
        var lineNumber = 0;
        foreach (var line in ByteLines.Read(stream))
        {
            lineNumber++;
            if (line.AsSpan().Trim(" \t"u8).IsEmpty) continue;
            done.Add(KeyOf(path, lineNumber, line));
        }
        return done;
    }

    /// <summary>Bytes up to and including the last newline, found by reading backwards (the file may be large).</summary>
    private static long CompleteLength(FileStream stream)
    {
        var block = new byte[64 * 1024];
        for (var end = stream.Length; end > 0;)
        {
            var start = Math.Max(0, end - block.Length);
            stream.Seek(start, SeekOrigin.Begin);
            var span = block.AsSpan(0, (int)(end - start));
            stream.ReadExactly(span);
            var newline = span.LastIndexOf((byte)'\n');
            if (newline >= 0) return start + newline + 1;
            end = start;
        }
        return 0;
    }

    private static string KeyOf(string path, int lineNumber, byte[] line)
    {
        try
        {
            using var record = JsonDocument.Parse(line);
            var root = record.RootElement;
            if (root.TryGetProperty("line", out var inputLine) && inputLine.TryGetInt64(out var n)) return InputRecord.LineKey(n);
            if (root.TryGetProperty("file", out var file) && file.ValueKind == JsonValueKind.String) return InputRecord.FileKey(file.GetString()!);
        }
        catch (JsonException)
        {
        }
        throw new IOException($"{path}:{lineNumber}: not an extraction record (need a \"line\" or \"file\" field): " +
            $"'{Encoding.UTF8.GetString(line.AsSpan(0, Math.Min(line.Length, 80)))}'. Is this the output of another job?");
    }

    public void Dispose()
    {
        _stream.Dispose();
        _lock.Dispose();   // after the last write is on the disk
    }
}
