using System.IO.MemoryMappedFiles;
using System.Text.Json;

namespace Condensa.Export;

/// <summary>
/// One memory-mapped .safetensors file: an 8-byte little-endian header length, a JSON header naming each
/// tensor's dtype, shape and data_offsets (relative to the end of the header), then the raw data.
/// Mapping it means a tensor is read once, straight into the float32 array the caller asked for.
/// </summary>
internal sealed unsafe class SafeTensorsFile : IDisposable
{
    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private readonly byte* _base;
    private readonly long _length;

    public string Path { get; }
    public IReadOnlyDictionary<string, SafeTensorInfo> Tensors { get; }

    public SafeTensorsFile(string path)
    {
        Path = path;
        _length = new FileInfo(path).Length;
        if (_length < 8) throw new ExportException($"'{path}' is not a safetensors file: it is {_length} bytes long.");
        _map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        _view = _map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        byte* p = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        _base = p + _view.PointerOffset;
        Tensors = ParseHeader();
    }

    /// <summary>Reads a tensor of this file as float32.</summary>
    public float[] ReadFloat32(SafeTensorInfo info)
    {
        var result = new float[info.ElementCount];
        // Spans are int-sized; a large embedding table (over 2 GB of bytes) is decoded in chunks.
        const long chunk = 1 << 26;
        int size = SafeTensorDtypes.ByteSize(info.Dtype);
        for (long start = 0; start < result.LongLength; start += chunk)
        {
            int n = (int)Math.Min(chunk, result.LongLength - start);
            var src = new ReadOnlySpan<byte>(_base + info.Offset + start * size, n * size);
            SafeTensorDtypes.ToFloat32(info.Dtype, src, result.AsSpan((int)start, n));
        }
        return result;
    }

    private Dictionary<string, SafeTensorInfo> ParseHeader()
    {
        long headerLength = *(long*)_base;
        if (headerLength <= 0 || 8 + headerLength > _length)
            throw new ExportException($"'{Path}' is not a safetensors file: header length {headerLength} does not fit its {_length} bytes.");
        var header = new ReadOnlySpan<byte>(_base + 8, checked((int)headerLength));
        long dataStart = 8 + headerLength;

        var tensors = new Dictionary<string, SafeTensorInfo>();
        using var doc = JsonDocument.Parse(header.ToArray());
        foreach (var entry in doc.RootElement.EnumerateObject())
        {
            if (entry.Name == "__metadata__") continue;
            string dtypeName = entry.Value.GetProperty("dtype").GetString() ?? "";
            if (!SafeTensorDtypes.TryParse(dtypeName, out var dtype))
                throw new ExportException($"Tensor '{entry.Name}' in '{Path}' has unsupported dtype '{dtypeName}'; supported: F32, F16, BF16.");
            long[] shape = entry.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            var offsets = entry.Value.GetProperty("data_offsets");
            long begin = offsets[0].GetInt64(), end = offsets[1].GetInt64();
            var info = new SafeTensorInfo(entry.Name, dtype, shape, Path, dataStart + begin, end - begin);
            if (info.Length != info.ElementCount * SafeTensorDtypes.ByteSize(dtype) || dataStart + end > _length)
                throw new ExportException($"Tensor '{entry.Name}' in '{Path}': data_offsets [{begin}, {end}] do not match shape {info.ShapeText} of {dtypeName} or the file size.");
            tensors.Add(entry.Name, info);
        }
        return tensors;
    }

    public void Dispose()
    {
        _view?.SafeMemoryMappedViewHandle.ReleasePointer();
        _view?.Dispose();
        _map?.Dispose();
    }
}
