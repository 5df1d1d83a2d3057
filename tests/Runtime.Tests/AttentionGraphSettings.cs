namespace Condensa.Runtime.Tests;

/// <summary>The two settings the graph-equality tests run a model under: the attention graphs forced on, and the general
/// graph alone.</summary>
internal static class AttentionGraphSettings
{
    public static readonly SessionSettings Fused = new() { FusedAttention = true };
    public static readonly SessionSettings General = new() { FusedAttention = false };
}
