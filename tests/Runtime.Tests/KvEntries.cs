using System.Runtime.InteropServices;
using Condensa.Runtime.Kv;

namespace Condensa.Runtime.Tests;

/// <summary>Appends recognisable entries to a cache without running a model.</summary>
internal static class KvEntries
{
    /// <summary>Appends counts[b] entries to row b whose every element equals firstValue + index within the pass
    /// ([batch, kvHeads, seqLen, headDim] host new KV, the same bytes for keys and values of every layer).</summary>
    public static void Append(KvCache cache, int seqLen, int[] counts, int firstValue)
    {
        var manifest = cache.Manifest;
        using var source = new HostKvStorage(manifest, 2 * cache.StoredLayers, cache.BatchSize, seqLen);
        for (var t = 0; t < source.Tensors; t++)
        {
            var values = MemoryMarshal.Cast<byte, float>(source.Bytes(t));
            for (var row = 0; row < cache.BatchSize * manifest.NumKvHeads; row++)
            for (var j = 0; j < seqLen; j++)
                values.Slice((row * seqLen + j) * manifest.HeadDim, manifest.HeadDim).Fill(firstValue + j);
        }
        cache.Append(source, counts);
    }

    /// <summary>First element of each of the first <paramref name="count"/> slots of a row (layer 0 keys, head 0 of a
    /// one-KV-head model): the firstValue + index an <see cref="Append"/> wrote there.</summary>
    public static float[] Slots(KvCache cache, int row, int count)
    {
        var keys = MemoryMarshal.Cast<byte, float>(cache.KeyBytes(0));
        var headDim = cache.Manifest.HeadDim;
        var slots = new float[count];
        for (var s = 0; s < count; s++) slots[s] = keys[(row * cache.Capacity + s) * headDim];
        return slots;
    }
}
