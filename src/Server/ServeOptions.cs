namespace Condensa.Server;

/// <summary>How <c>condensa serve</c> listens and schedules.</summary>
public sealed record ServeOptions
{
    /// <summary>Address to bind. Loopback by default: the server has no TLS and, without <see cref="ApiKey"/>, no auth.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>TCP port; 0 picks a free one (tests).</summary>
    public int Port { get; init; } = 8080;

    /// <summary>Rows of the shared continuous batch: requests generated side by side.</summary>
    public int MaxBatch { get; init; } = 8;

    /// <summary>Requests waiting for a row beyond which new ones get 429.</summary>
    public int MaxQueue { get; init; } = 256;

    /// <summary>When set, every /v1 request must carry <c>Authorization: Bearer KEY</c>.</summary>
    public string? ApiKey { get; init; }

    /// <summary>Largest request body; a longer one gets 413. 1 MiB holds any prompt a small-context model can take.</summary>
    public long MaxBodyBytes { get; init; } = 1 << 20;

    /// <summary>Reply length when a request names none (cut to the context left after the prompt).</summary>
    public int DefaultMaxTokens { get; init; } = 256;

    /// <summary>Seconds between metrics log lines while requests run; 0 turns them off.</summary>
    public int MetricsLogSeconds { get; init; } = 10;

    /// <summary>How the shared batch decodes: plain by default, or a speculative step (Condensa.Speculative's
    /// <c>Speculation.CreateStep</c> for <see cref="MaxBatch"/> rows), disposed by the caller after the server.</summary>
    public Runtime.Batching.IDecodeStep? Step { get; init; }

    /// <summary>Checks every field and names the first one out of range.</summary>
    public void Validate()
    {
        ArgumentException.ThrowIfNullOrEmpty(Host);
        if (Port is < 0 or > 65535) throw new ArgumentOutOfRangeException(nameof(Port), Port, "port must be 0..65535");
        if (MaxBatch < 1) throw new ArgumentOutOfRangeException(nameof(MaxBatch), MaxBatch, "max batch must be >= 1");
        if (MaxQueue < 0) throw new ArgumentOutOfRangeException(nameof(MaxQueue), MaxQueue, "max queue must be >= 0");
        if (MaxBodyBytes < 1024) throw new ArgumentOutOfRangeException(nameof(MaxBodyBytes), MaxBodyBytes, "max body must be >= 1024 bytes");
        if (DefaultMaxTokens < 1) throw new ArgumentOutOfRangeException(nameof(DefaultMaxTokens), DefaultMaxTokens, "default max tokens must be >= 1");
    }
}
