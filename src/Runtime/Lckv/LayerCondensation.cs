namespace Condensa.Runtime;

/// <summary>
/// What the host needs to run a layer-condensed (LCKV) graph, derived from condensa.json's layer_kv_source:
/// the pending layers (stored layers that a lower layer reads, so the graph takes their KV for the new tokens
/// as a <c>pending.{t}</c> input), the cyclic blocks a prefill iterates, and the passes per block.
/// A standard model (every layer reads itself) has no pending layers and runs one pass.
/// </summary>
public sealed class LayerCondensation
{
    private LayerCondensation(int[] pending, int[][] blockTargets, int passes)
    {
        PendingLayers = pending;
        BlockTargets = blockTargets;
        IterativePasses = passes;
    }

    /// <summary>Layers some lower layer reads, ascending: graph inputs pending.{t}.key / .value exist for these.</summary>
    public IReadOnlyList<int> PendingLayers { get; }

    /// <summary>Per cyclic block (bottom to top), the pending layers its attends-top layers read.</summary>
    public IReadOnlyList<int[]> BlockTargets { get; }

    /// <summary>R = forward_passes + backward_passes: iterations of each cyclic block over a prefill chunk.</summary>
    public int IterativePasses { get; }

    /// <summary>Whether any layer reads a higher layer's KV (prefill then needs the iterative schedule).</summary>
    public bool IsIterative => PendingLayers.Count > 0;

    /// <summary>Derives the layout from a manifest's layer_kv_source and passes.</summary>
    public static LayerCondensation Of(ModelManifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var sources = manifest.LayerKvSource;
        var pending = sources.Where((t, i) => t > i).Distinct().Order().ToArray();
        // Cyclic blocks as in the reference code: from an attends-top layer to the furthest layer its block reads.
        var blocks = new List<int[]>();
        for (var i = 0; i < sources.Length;)
        {
            if (sources[i] <= i) { i++; continue; }
            var end = sources[i];
            for (var j = i; j <= end; j++) end = Math.Max(end, sources[j]);
            blocks.Add([.. Enumerable.Range(i, end - i + 1).Where(j => sources[j] > j).Select(j => sources[j]).Distinct().Order()]);
            i = end + 1;
        }
        var passes = Math.Max(1, (manifest.ForwardPasses ?? 0) + (manifest.BackwardPasses ?? 0));
        return new LayerCondensation(pending, [.. blocks], passes);
    }

    /// <summary>
    /// Graph passes for a chunk whose longest row has <paramref name="maxNewTokens"/> tokens:
    /// P = min(tokens, R) iterations per block. Blocks before the last stop after P - 1 passes, once their pending
    /// estimate is final, and the last pass of all runs every block at its final iterate:
    /// blocks × (P - 1) + 1 passes. One token (decode) is one pass.
    /// </summary>
    public int PassesPerBlock(int maxNewTokens) => Math.Clamp(maxNewTokens, 1, IterativePasses);
}
