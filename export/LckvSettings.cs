namespace Condensa.Export;

/// <summary>
/// The layer-condensed KV fields of an <c>LCKVLlamaForCausalLM</c> config.json (DESIGN.md §4). Defaults follow the
/// reference code's config class.
/// </summary>
public sealed record LckvSettings
{
    /// <summary>The architecture name that carries these fields.</summary>
    public const string Architecture = LayerCondensation.Architecture;

    /// <summary><c>layer_types</c>: which layer's KV each layer reads, and which layers slide.</summary>
    public required LayerTypes LayerTypes { get; init; }

    /// <summary><c>force_nodiag</c>: no layer attends to its own position (true in all released checkpoints).</summary>
    public bool ForceNodiag { get; init; }

    /// <summary><c>forward_passes</c>: gradient-free iterations of the cyclic block in training (default 7).</summary>
    public int ForwardPasses { get; init; } = 7;

    /// <summary><c>backward_passes</c>: iterations with gradients (default 2). Prefill runs forward + backward.</summary>
    public int BackwardPasses { get; init; } = 2;

    /// <summary><c>use_sequential</c>: prompts go through the model one token at a time at any length, as decoding does
    /// (exact, and one pass per token), instead of the iterative prefill of longer chunks (default false).</summary>
    public bool UseSequential { get; init; }

    /// <summary>
    /// <c>lckv_released_decode</c> (Condensa's own opt-in, default false): reproduce whyNLP/LCKV's released eager/SDPA
    /// code instead of the paper where a layer reads a higher layer and the released code runs one token per pass
    /// (decode, prompts of at most R tokens, <c>use_sequential</c>): it attends to a zero key/value placeholder and to
    /// positions up to p - 2, not p - 1, and a sliding window there admits positions p - W .. p - 2 (docs/ARCHITECTURE.md).
    /// </summary>
    public bool ReleasedDecode { get; init; }

    /// <summary><c>sliding_window</c> of the layers whose layer_types entry ends in <c>s</c> (default 4096).</summary>
    public int SlidingWindow { get; init; } = 4096;

    /// <summary>Iterations of each cyclic block in a prefill: forward_passes + backward_passes.</summary>
    public int IterativePasses => ForwardPasses + BackwardPasses;

    /// <summary>The stored and pending layers and cyclic blocks of <see cref="LayerTypes"/>, as the runtime derives them
    /// from condensa.json.</summary>
    public LayerCondensation Condensation => LayerCondensation.Of(LayerTypes.Sources, IterativePasses);

    /// <summary>Whether layer i attends without its own position: force_nodiag, or it reads a higher layer.</summary>
    public bool NoDiagonal(int layer) => ForceNodiag || Condensation.AttendsTop(layer);

    /// <summary>Layer i's attention window in positions, or null for full attention.</summary>
    public int? Window(int layer) => LayerTypes.Sliding[layer] ? SlidingWindow : null;
}
