namespace Condensa;

/// <summary>
/// The KV layout that condensa.json's layer_kv_source (LCKV's layer_types, DESIGN.md §4) implies: which layers store KV,
/// the pending layers (stored layers that a lower layer reads, so the graph takes their KV for the new tokens as a
/// <c>pending.{t}</c> input), the cyclic blocks a prefill iterates, and the passes per block. The exporter builds its
/// graph inputs from it and the runtime binds and schedules them from it, so both sides agree by construction.
/// A standard model (every layer reads itself) stores every layer, has no pending layers and runs one pass.
/// </summary>
public sealed class LayerCondensation
{
    /// <summary>The architecture name of layer-condensed checkpoints (config.json's architectures, condensa.json's architecture).</summary>
    public const string Architecture = "LCKVLlamaForCausalLM";

    private LayerCondensation(int[] sources, int passes)
    {
        Sources = sources;
        StoredLayers = [.. sources.Distinct().Order()];
        PendingLayers = [.. sources.Where((t, i) => t > i).Distinct().Order()];
        // Cyclic blocks as in the reference code: from an attends-top layer to the furthest layer its block reads,
        // merged while they overlap.
        var blocks = new List<(int, int)>();
        for (var i = 0; i < sources.Length;)
        {
            if (!AttendsTop(i)) { i++; continue; }
            var end = sources[i];
            for (var j = i; j <= end; j++) end = Math.Max(end, sources[j]);
            blocks.Add((i, end));
            i = end + 1;
        }
        CyclicBlocks = blocks;
        BlockTargets = [.. blocks.Select(b => Enumerable.Range(b.Item1, b.Item2 - b.Item1 + 1)
            .Where(AttendsTop).Select(j => sources[j]).Distinct().Order().ToArray())];
        IterativePasses = passes;
    }

    /// <summary>Entry i: the layer whose KV layer i reads.</summary>
    public IReadOnlyList<int> Sources { get; }

    /// <summary>Layers that store KV, ascending: set(Sources). Only these have k/v projections and past.{l} inputs.</summary>
    public IReadOnlyList<int> StoredLayers { get; }

    /// <summary>Layers some lower layer reads ("attends top"), ascending: their KV for the new tokens is not computed yet
    /// when the reader runs, so graph inputs pending.{t}.key / .value exist for these.</summary>
    public IReadOnlyList<int> PendingLayers { get; }

    /// <summary>The cyclic blocks, bottom to top: first and last layer of each. Prefill iterates each block; decode needs none.</summary>
    public IReadOnlyList<(int Start, int End)> CyclicBlocks { get; }

    /// <summary>Per cyclic block (bottom to top), the pending layers its attends-top layers read.</summary>
    public IReadOnlyList<int[]> BlockTargets { get; }

    /// <summary>R = forward_passes + backward_passes (at least 1): iterations of each cyclic block over a prefill chunk.</summary>
    public int IterativePasses { get; }

    /// <summary>Whether any layer reads a higher layer's KV (prefill then needs the iterative schedule).</summary>
    public bool IsIterative => PendingLayers.Count > 0;

    /// <summary>Whether layer <paramref name="layer"/> reads a higher layer's KV.</summary>
    public bool AttendsTop(int layer) => Sources[layer] > layer;

    /// <summary>Derives the layout from <paramref name="sources"/> (entry i: the layer whose KV layer i reads).</summary>
    /// <param name="sources">layer_kv_source, one entry per layer, each in 0..count-1.</param>
    /// <param name="iterativePasses">forward_passes + backward_passes; below 1 means 1.</param>
    public static LayerCondensation Of(IReadOnlyList<int> sources, int iterativePasses = 1)
    {
        ArgumentNullException.ThrowIfNull(sources);
        return new LayerCondensation([.. sources], Math.Max(1, iterativePasses));
    }

    /// <summary>
    /// Graph passes for a chunk whose longest row has <paramref name="maxNewTokens"/> tokens:
    /// P = min(tokens, R) iterations per block. Blocks before the last stop after P - 1 passes, once their pending
    /// estimate is final, and the last pass of all runs every block at its final iterate:
    /// blocks × (P - 1) + 1 passes. One token (decode) is one pass.
    /// </summary>
    public int PassesPerBlock(int maxNewTokens) => Math.Clamp(maxNewTokens, 1, IterativePasses);
}
