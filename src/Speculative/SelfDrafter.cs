using Condensa.Runtime;
using Condensa.Runtime.Kv;

namespace Condensa.Speculative;

/// <summary>
/// What makes a model fit to run self-speculation's drafts for a target: it is the target's checkpoint exported at another
/// precision (a float16 copy of a float32 target, an int8 one of a float32 target), so it reads the same KV entries, which
/// the budget takes from the target (converted from float32 to half precision where the two differ).
/// </summary>
public static class SelfDrafter
{
    /// <summary>Throws a <see cref="CondensaException"/> naming the first field in which <paramref name="drafter"/> differs
    /// from <paramref name="target"/>, or whose KV type cannot take the target's entries.</summary>
    public static void Check(ModelManifest target, ModelManifest drafter)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(drafter);
        (string Field, object Target, object Drafter)[] fields =
        [
            ("architecture", target.Architecture, drafter.Architecture), ("vocab_size", target.VocabSize, drafter.VocabSize),
            ("hidden_size", target.HiddenSize, drafter.HiddenSize), ("num_layers", target.NumLayers, drafter.NumLayers),
            ("num_heads", target.NumHeads, drafter.NumHeads), ("num_kv_heads", target.NumKvHeads, drafter.NumKvHeads),
            ("head_dim", target.HeadDim, drafter.HeadDim), ("kv_layers", string.Join(",", target.KvLayers), string.Join(",", drafter.KvLayers)),
        ];
        foreach (var (field, t, d) in fields)
            if (!t.Equals(d))
                throw new CondensaException($"Incompatible self-speculation drafter: its {ModelManifest.FileName} has {field} {d}, the target's {t}; " +
                    "the drafter must be the target's own checkpoint exported at another precision.");
        if (!KvConversion.Converts(target.KvType, drafter.KvType))
            throw new CondensaException($"Incompatible self-speculation drafter: its KV is {drafter.KvType} and the target's {target.KvType}; the budget " +
                "takes the target's entries, which convert only from float32 to float16 or bfloat16.");
    }
}
