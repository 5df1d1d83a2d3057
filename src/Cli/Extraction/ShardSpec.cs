namespace Condensa.Cli.Extraction;

/// <summary>
/// <c>--shard i/N</c>: this process takes the input records whose ordinal (0-based line or file index) is i modulo N.
/// Index i is 0-based, as Kubernetes' JOB_COMPLETION_INDEX and a Slurm array of 0..N-1 number their tasks, so the N
/// shards partition the input exactly and deterministically.
/// </summary>
internal sealed record ShardSpec(int Index, int Count)
{
    /// <summary>The whole input.</summary>
    public static ShardSpec All { get; } = new(0, 1);

    /// <summary>Whether the record with this ordinal belongs to the shard.</summary>
    public bool Contains(long ordinal) => ordinal % Count == Index;

    /// <summary>Parses "i/N" with 0 &lt;= i &lt; N.</summary>
    public static ShardSpec Parse(string value)
    {
        var parts = value.Split('/');
        if (parts.Length == 2 && int.TryParse(parts[0], out var index) && int.TryParse(parts[1], out var count) && count >= 1 && index >= 0 && index < count)
            return new ShardSpec(index, count);
        throw new ArgumentException($"--shard '{value}' must be i/N with 0 <= i < N (e.g. 0/4 for the first of four shards).");
    }

    public override string ToString() => $"{Index}/{Count}";
}
