using Condensa.Export.Onnx;

namespace Condensa.Export;

/// <summary>
/// Rotary embeddings computed in the graph from position_ids, with transformers' rotate_half convention:
/// cos and sin of cat(freqs, freqs), and x·cos + cat(-x2, x1)·sin.
/// </summary>
internal static class Rope
{
    /// <summary>
    /// cos and sin tables for the new tokens, computed once per graph in float32 (as transformers does)
    /// and cast to the model dtype.
    /// <code>
    ///   position_ids [B,S] -> Cast(float) -> Unsqueeze -> Mul(inv_freq) -> Concat(f, f) -> Cos / Sin -> Unsqueeze(1)
    /// </code>
    /// </summary>
    public static (string Cos, string Sin) Tables(GraphBuilder b, string positionIds, RopeSettings rope, int headDim,
        TensorProto.Types.DataType modelType)
    {
        using var _ = b.Scope("rotary_emb");
        float[] invFreq = rope.InverseFrequencies(headDim).Select(f => (float)f).ToArray();
        string pos = b.Node("Cast", [positionIds], attributes: Attr.Int("to", (long)TensorProto.Types.DataType.Float));       // [B, S]
        pos = b.Node("Unsqueeze", [pos, b.ConstInt64([-1])]);                                                               // [B, S, 1]
        string freqs = b.Node("Mul", [pos, b.ConstFloats("rotary_inv_freq", invFreq)]);                                     // [B, S, D/2]
        string emb = b.Node("Concat", [freqs, freqs], attributes: Attr.Int("axis", -1));                                  // [B, S, D]
        string cos = b.Node("Cos", [emb]);                                                                                // [B, S, D]
        string sin = b.Node("Sin", [emb]);                                                                                // [B, S, D]
        if (modelType != TensorProto.Types.DataType.Float)
        {
            cos = b.Node("Cast", [cos], "cos/Cast", Attr.Int("to", (long)modelType));
            sin = b.Node("Cast", [sin], "sin/Cast", Attr.Int("to", (long)modelType));
        }
        // The head axis is 1 in [B, H, S, D]; broadcasting over it serves q and k alike.
        cos = b.Node("Unsqueeze", [cos, b.ConstInt64([1])], "cos/Unsqueeze");                                             // [B, 1, S, D]
        sin = b.Node("Unsqueeze", [sin, b.ConstInt64([1])], "sin/Unsqueeze");                                             // [B, 1, S, D]
        return (cos, sin);
    }

    /// <summary>
    /// Applies the rotation to q or k of shape [B, H, S, D].
    /// <code>
    ///   x -> Split(x1, x2) -> Concat(Neg(x2), x1) -> Mul(sin) -+
    ///   x -> Mul(cos) -----------------------------------------+-> Add
    /// </code>
    /// </summary>
    public static string Apply(GraphBuilder b, string x, string cos, string sin, int headDim)
    {
        var halves = b.NodeN("Split", "Split", [x, b.ConstInt64([headDim / 2, headDim / 2])], 2, [Attr.Int("axis", -1)]); // 2 x [B, H, S, D/2]
        string neg = b.Node("Neg", [halves[1]]);                                                                             // [B, H, S, D/2]
        string rotated = b.Node("Concat", [neg, halves[0]], attributes: Attr.Int("axis", -1));                              // [B, H, S, D]
        string xCos = b.Node("Mul", [x, cos], "cos/Mul");                                                                  // [B, H, S, D]
        string rSin = b.Node("Mul", [rotated, sin], "sin/Mul");                                                            // [B, H, S, D]
        return b.Node("Add", [xCos, rSin]);                                                                                // [B, H, S, D]
    }
}
