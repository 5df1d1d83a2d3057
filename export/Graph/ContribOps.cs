namespace Condensa.Export;

/// <summary>ONNX Runtime's contrib operators (MatMulNBits, RotaryEmbedding, SkipSimplifiedLayerNormalization): their domain.</summary>
internal static class ContribOps
{
    /// <summary>The contrib operator domain, imported at version 1 by any graph that uses it.</summary>
    public const string Domain = "com.microsoft";
}
