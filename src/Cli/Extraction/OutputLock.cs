using System.Globalization;

namespace Condensa.Cli.Extraction;

/// <summary>
/// An exclusive lock on an extraction output, held for the whole job: <c>OUTPUT.lock</c> beside it, opened with
/// <see cref="FileShare.None"/> (an advisory flock on Unix, a share lock on Windows; either is released by the system
/// when the process dies, so a crash leaves no stale lock). Two jobs appending to one output would interleave lines and
/// lose records; the second is refused at once instead. The output itself stays unlocked, so it can be read while the
/// job runs. The file is left in place: deleting it would let two jobs lock two different files of the same name.
/// </summary>
internal sealed class OutputLock : IDisposable
{
    private readonly FileStream _stream;

    private OutputLock(FileStream stream) => _stream = stream;

    /// <summary>The lock file of <paramref name="output"/>.</summary>
    public static string PathOf(string output) => output + ".lock";

    /// <summary>Takes the lock of <paramref name="output"/>, or throws naming the output when another process holds it.</summary>
    /// <exception cref="IOException">Another process (or another job in this one) holds the lock.</exception>
    public static OutputLock Acquire(string output)
    {
        var path = PathOf(output);
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e) when (IsSharingViolation(e))
        {
            throw new IOException($"{output}: another process is writing this output (it holds {path}, which names it); " +
                "wait for that job to end or pick another --output.", e);
        }

        // Who holds it, for a person who looks (cat OUTPUT.lock); the lock is the open file, not its contents.
        try
        {
            stream.SetLength(0);
            stream.Write(System.Text.Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
                $"pid {Environment.ProcessId} on {Environment.MachineName} since {DateTime.UtcNow:yyyy-MM-dd HH:mm:ss} UTC\n")));
            stream.Flush();
            return new OutputLock(stream);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    // How .NET reports a held lock: Windows' ERROR_SHARING_VIOLATION (32) or ERROR_LOCK_VIOLATION (33) in the HResult; on
    // Unix the HResult is flock's errno, EWOULDBLOCK (11 on Linux, 35 on macOS and the BSDs).
    private static bool IsSharingViolation(IOException e) =>
        OperatingSystem.IsWindows() ? (e.HResult & 0xFFFF) is 32 or 33 : e.HResult == (OperatingSystem.IsLinux() ? 11 : 35);

    public void Dispose() => _stream.Dispose();
}
