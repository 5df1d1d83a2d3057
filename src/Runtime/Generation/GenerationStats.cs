namespace Condensa.Runtime.Generation;

/// <summary>Counts and timings of one generation, filled in as it runs.</summary>
public sealed class GenerationStats
{
    /// <summary>Prompt tokens fed (all rows).</summary>
    public int PromptTokens { get; set; }

    /// <summary>Tokens generated (all rows).</summary>
    public int GeneratedTokens { get; set; }

    /// <summary>Wall time of the prefill passes.</summary>
    public TimeSpan PrefillTime { get; set; }

    /// <summary>Wall time of the decode passes and sampling.</summary>
    public TimeSpan DecodeTime { get; set; }

    /// <summary>KV bytes held at the end (the sum of row lengths times bytes per token).</summary>
    public long KvBytes { get; set; }

    /// <summary>How often the KV cache's buffers were reallocated to grow while this generation ran: each time every entry
    /// is copied and a device's captured graphs are captured again (the batch front ends size the cache up front).</summary>
    public int KvReallocations { get; set; }

    /// <summary>Documents moved into lower rows as others finished, so that passes ran over fewer rows (DecodeLoop packs
    /// them; each move copies the document's KV once).</summary>
    public int RowMoves { get; set; }

    /// <summary>KV bytes per token of this model.</summary>
    public long KvBytesPerToken { get; set; }

    /// <summary>Prompt tokens per second of prefill.</summary>
    public double PrefillTokensPerSecond => Rate(PromptTokens, PrefillTime);

    /// <summary>Generated tokens per second of decode. The first token comes from the prefill's logits, so it
    /// is not counted against decode time.</summary>
    public double DecodeTokensPerSecond => Rate(Math.Max(GeneratedTokens - 1, 0), DecodeTime);

    private static double Rate(int tokens, TimeSpan time) => time > TimeSpan.Zero ? tokens / time.TotalSeconds : 0;
}
