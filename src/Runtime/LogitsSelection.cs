namespace Condensa.Runtime;

/// <summary>Which positions of a forward pass produce logits.</summary>
public enum LogitsSelection
{
    /// <summary>Only each row's last new token: [batch, vocab]. Prefill needs no more, and [batch, seqLen, vocab]
    /// for a long prompt is large.</summary>
    LastPerRow,

    /// <summary>Every new position: [batch, seqLen, vocab] (verification of drafted tokens).</summary>
    All,
}
