using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Condensa.Runtime;

/// <summary>
/// A byte array on the pinned object heap: ONNX Runtime reads and writes it in place through its address,
/// and the GC never moves it, so an OrtValue over it stays valid for the buffer's lifetime.
/// </summary>
internal sealed class PinnedBuffer
{
    private readonly byte[] _bytes;

    public PinnedBuffer(long bytes)
    {
        if (bytes > Array.MaxLength)
            throw new CondensaException($"A host buffer of {bytes} bytes exceeds the largest array .NET allows; lower the batch size or context.");
        _bytes = GC.AllocateArray<byte>((int)Math.Max(bytes, 1), pinned: true);
    }

    public int Length => _bytes.Length;

    public unsafe nint Address => (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_bytes));

    public Span<byte> Bytes => _bytes;

    public Span<T> As<T>() where T : struct => MemoryMarshal.Cast<byte, T>(_bytes.AsSpan());

    /// <summary>Returns this buffer if it holds <paramref name="bytes"/>, else a new one twice as large as needed,
    /// so a workspace that grows step by step reallocates only a logarithmic number of times.</summary>
    public static PinnedBuffer Ensure(PinnedBuffer? buffer, long bytes) =>
        buffer is not null && buffer.Length >= bytes ? buffer : new PinnedBuffer(Math.Max(bytes, 64) * 2);
}
