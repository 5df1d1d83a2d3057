using Condensa.Runtime;

namespace Condensa.TestSupport;

/// <summary>
/// A model without weights for decode-loop tests: the token after <c>t</c> at position <c>p</c> is <c>next(t, p)</c>, so
/// what any loop must produce can be written down. Logits peak at that token (4), with a gentle slope over the rest so a
/// sampler has a real law to draw from; the cache is a host <see cref="KvCache"/> whose rows each pass advances. It
/// records every pass, so tests can count what a loop fed.
/// </summary>
public sealed class FakeDecoder : IDecoder
{
    private readonly Func<int, long, int> _next;
    private readonly Func<int, int>? _passLength;
    private float[] _logits = [];
    private int[] _greedy = [];

    /// <summary>Creates the model: <paramref name="next"/>(token, position) is the token that follows;
    /// <paramref name="passLength"/> stands for a model that asks for padded passes (as one replaying captured graphs does).</summary>
    public FakeDecoder(Func<int, long, int> next, int vocab = 32, int maxContext = 256, Func<int, int>? passLength = null)
    {
        (_next, _passLength) = (next, passLength);
        Manifest = new ModelManifest
        {
            Format = 1, Architecture = "FakeForCausalLM", VocabSize = vocab, HiddenSize = 4, NumLayers = 1, NumHeads = 1, NumKvHeads = 1,
            HeadDim = 4, MaxContext = maxContext, KvLayers = [0], LayerKvSource = [0], EosTokenIds = [],
        };
    }

    /// <inheritdoc />
    public ModelManifest Manifest { get; }

    /// <summary>Every pass's tokens per row (its padding included), in order.</summary>
    public List<int> PassLengths { get; } = [];

    /// <inheritdoc />
    public int PassLength(int tokens) => _passLength?.Invoke(tokens) ?? tokens;

    /// <inheritdoc />
    public int LongestRowsPass { get; init; } = int.MaxValue;

    /// <inheritdoc />
    public int LongestCapturedPass { get; init; }

    /// <summary>Every pass's rows (the cache's batch) and tokens per row, in order.</summary>
    public List<(int Batch, int SeqLen)> PassShapes { get; } = [];

    /// <summary>Forward passes run (greedy or not).</summary>
    public int Passes { get; private set; }

    /// <summary>Real tokens fed over all passes.</summary>
    public int TokensFed { get; private set; }

    /// <summary>Every real token fed: its cache row, rotary position and id, in order.</summary>
    public List<(int Row, long Position, int Token)> Fed { get; } = [];

    /// <summary>The largest [batch × seqLen] of one pass (padding included).</summary>
    public int LargestPass { get; private set; }

    /// <inheritdoc />
    public KvCache CreateCache(int batchSize, KvCacheOptions? options = null) => KvCache.OnHost(Manifest, batchSize, options);

    /// <inheritdoc />
    public ReadOnlySpan<float> Forward(KvCache cache, scoped in ForwardInputs inputs)
    {
        var greedy = Pass(cache, inputs);
        var vocab = Manifest.VocabSize;
        if (_logits.Length < greedy.Length * vocab) _logits = new float[greedy.Length * vocab];
        for (var i = 0; i < greedy.Length; i++)
        {
            var row = _logits.AsSpan(i * vocab, vocab);
            for (var t = 0; t < vocab; t++) row[t] = -0.01f * ((t - greedy[i] + vocab) % vocab);
            row[greedy[i]] = 4f;
        }
        return _logits.AsSpan(0, greedy.Length * vocab);
    }

    /// <inheritdoc />
    public ReadOnlySpan<int> ForwardGreedy(KvCache cache, scoped in ForwardInputs inputs) => Pass(cache, inputs);

    /// <summary>The model's greedy continuation of <paramref name="prompt"/>: what plain greedy decoding must give.</summary>
    public int[] Continue(IReadOnlyList<int> prompt, int tokens, IReadOnlyCollection<int>? stopTokens = null)
    {
        var output = new List<int>();
        var (last, position) = (prompt[^1], (long)prompt.Count - 1);
        while (output.Count < tokens)
        {
            last = _next(last, position++);
            output.Add(last);
            if (stopTokens?.Contains(last) == true) break;
        }
        return [.. output];
    }

    // The selected positions' next tokens; advances the cache by the pass's counts.
    private int[] Pass(KvCache cache, scoped in ForwardInputs inputs)
    {
        var batch = cache.BatchSize;
        var seqLen = inputs.Tokens.Length / batch;
        var all = inputs.Selection == LogitsSelection.All;
        var count = all ? batch * seqLen : batch;
        if (_greedy.Length != count) _greedy = new int[count];
        for (var b = 0; b < batch; b++)
        {
            var n = inputs.Counts[b];
            for (var j = 0; j < seqLen; j++)
            {
                if (!all && j != Math.Max(n - 1, 0)) continue;
                var position = inputs.Positions.IsEmpty ? cache.Lengths[b] + j : inputs.Positions[b * seqLen + j];
                _greedy[all ? b * seqLen + j : b] = _next(inputs.Tokens[b * seqLen + j], position);
            }
            for (var j = 0; j < n; j++)
                Fed.Add((b, inputs.Positions.IsEmpty ? cache.Lengths[b] + j : inputs.Positions[b * seqLen + j], inputs.Tokens[b * seqLen + j]));
            TokensFed += n;
        }
        (Passes, LargestPass) = (Passes + 1, Math.Max(LargestPass, batch * seqLen));
        PassLengths.Add(seqLen);
        PassShapes.Add((cache.BatchSize, seqLen));
        cache.CommitWritten(inputs.Counts);
        return _greedy;
    }
}
