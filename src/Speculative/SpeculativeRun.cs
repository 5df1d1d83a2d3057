using System.Diagnostics;
using System.Runtime.InteropServices;
using Condensa.Runtime;
using Condensa.Runtime.Generation;
using Condensa.Runtime.Sampling;

namespace Condensa.Speculative;

/// <summary>
/// The state of one speculative generation: the target cache, each row's committed tokens (the last of which is
/// not in the target cache yet), and the buffers one round needs, allocated once.
/// </summary>
internal sealed class SpeculativeRun : IDisposable
{
    private readonly IDecoder _target;
    private readonly IDrafter _drafter;
    private readonly SpeculativeOptions _options;
    private readonly SpeculativeStats _stats;
    private readonly KvCache _cache;
    private readonly List<int>[] _rows;        // committed tokens per row: prompt + output
    private readonly List<int>[] _outputs;     // generated tokens per row
    private readonly FinishReason?[] _finish;
    private readonly TokenSampler[] _samplers; // target distributions, exactly as plain decoding applies them
    private readonly Random _random;           // the verifier's uniform draws
    private readonly GammaController _gamma;
    private readonly DraftBuffers _drafts;
    private readonly float[] _p;               // [maxGamma + 1, vocab] one row's target distributions
    private readonly float[] _residual;        // [vocab]
    private readonly bool[] _active;
    private readonly int[] _counts, _lengthsBefore, _accepted;
    private readonly int _vocab;

    public SpeculativeRun(IDecoder target, IReadOnlyList<IReadOnlyList<int>> prompts, IDrafter drafter, SpeculativeOptions options,
        SpeculativeStats stats)
    {
        (_target, _drafter, _options, _stats) = (target, drafter, options, stats);
        var batch = prompts.Count;
        _vocab = target.Manifest.VocabSize;
        var sampling = options.Generation.Sampling;
        _cache = target.CreateCache(batch);
        _rows = [.. prompts.Select(p => new List<int>(p))];
        _outputs = [.. prompts.Select(_ => new List<int>())];
        _finish = new FinishReason?[batch];
        _samplers = [.. prompts.Select(_ => new TokenSampler(sampling, _vocab))];
        _random = sampling.Seed is { } seed ? new Random(seed) : new Random();
        _gamma = new GammaController(options.Gamma, options.MaxGamma);
        _drafts = new DraftBuffers(batch, _gamma.MaxGamma, _vocab, withDistributions: !sampling.IsGreedy);
        _p = new float[(_gamma.MaxGamma + 1) * _vocab];
        _residual = new float[_vocab];
        _active = new bool[batch];
        _counts = new int[batch];
        _lengthsBefore = new int[batch];
        _accepted = new int[batch];
        foreach (var prompt in prompts)
            if (prompt.Count + options.Generation.MaxNewTokens - 1 > _cache.MaxCapacity)
                throw new CondensaException($"Context overflow: prompt of {prompt.Count} tokens + {options.Generation.MaxNewTokens} new tokens " +
                    $"exceeds the context limit of {_cache.MaxCapacity} tokens. Shorten the prompt or lower --max-tokens.");
    }

    public bool Done => _finish.All(f => f is not null);

    public IReadOnlyList<int> Output(int row) => _outputs[row];

    public IReadOnlyList<GenerationResult> Results() => [.. _outputs.Select((o, b) => new GenerationResult(o, _finish[b]!.Value))];

    /// <summary>Chunked prefill of every prompt on the target (the drafter sees each pass), then the first token.</summary>
    public void Prefill()
    {
        var clock = Stopwatch.StartNew();
        var first = ChunkedPrefill.Run(_target, _cache, _rows, _samplers, _options.Generation.PrefillChunk,
            (cache, counts) => _drafter.ObservePrefill(cache, counts));
        _stats.Generation.PromptTokens += _rows.Sum(r => r.Count);
        _stats.Generation.PrefillTime += clock.Elapsed;
        for (var b = 0; b < _rows.Length; b++) Emit(b, first[b]);
        Finish();
    }

    /// <summary>One round: propose, verify in one target pass, accept, commit both caches, emit.</summary>
    public void Round()
    {
        var batch = _rows.Length;
        var gamma = _gamma.Next();
        for (var b = 0; b < batch; b++) _active[b] = _finish[b] is null;

        // 1) propose up to γ drafts per active row, never past the token limit or the context
        var clock = Stopwatch.StartNew();
        _drafter.Propose(_rows, _active, gamma, _drafts);
        var draftTime = clock.Elapsed;
        for (var b = 0; b < batch; b++)
        {
            var roomForTokens = _options.Generation.MaxNewTokens - _outputs[b].Count - 1;
            var roomInContext = _cache.MaxCapacity - _cache.Lengths[b] - 1;
            _drafts.Counts[b] = _active[b] ? Math.Clamp(Math.Min(_drafts.Counts[b], Math.Min(roomForTokens, roomInContext)), 0, gamma) : 0;
        }

        // 2) verify [last, d1..dn] of every active row in one target pass
        clock.Restart();
        var seqLen = 1 + _drafts.Counts.Max();
        var tokens = new int[batch * seqLen];
        for (var b = 0; b < batch; b++)
        {
            _lengthsBefore[b] = _cache.Lengths[b];
            _counts[b] = _active[b] ? _drafts.Counts[b] + 1 : 0;
            if (!_active[b]) continue;
            tokens[b * seqLen] = _rows[b][^1];
            _drafts.Row(b).CopyTo(tokens.AsSpan(b * seqLen + 1));
        }
        var logits = _target.Forward(_cache, new ForwardInputs(tokens, _counts, LogitsSelection.All));

        // 3) accept: each row keeps its accepted prefix plus one corrected or bonus token
        var next = new int[batch];
        for (var b = 0; b < batch; b++)
        {
            if (!_active[b]) continue;
            var n = _drafts.Counts[b];
            var drafts = _drafts.Row(b);
            for (var i = 0; i <= n; i++)
                _samplers[b].Distribution(logits.Slice((b * seqLen + i) * _vocab, _vocab), CollectionsMarshal.AsSpan(_rows[b]), drafts[..i],
                    _p.AsSpan(i * _vocab, _vocab));
            _accepted[b] = ChainVerifier.Verify(_p.AsSpan(0, (n + 1) * _vocab), _drafts.RowDistributions(b), drafts, _vocab, _random, _residual,
                out next[b]);
        }

        // 4) commit: the target keeps [last, d1..da]; the drafter rewinds or copies to match
        for (var b = 0; b < batch; b++)
            if (_active[b]) _cache.RewindTo(b, _lengthsBefore[b] + _accepted[b] + 1);
        _drafter.Commit(_cache, _lengthsBefore, _accepted, _active);
        var verifyTime = clock.Elapsed;

        // 5) emit the accepted drafts and the extra token, stopping at a stop token or the limit
        for (var b = 0; b < batch; b++)
        {
            if (!_active[b]) continue;
            foreach (var token in _drafts.Row(b)[.._accepted[b]])
                if (!Emit(b, token)) break;
            if (_finish[b] is null) Emit(b, next[b]);
        }
        Finish();

        var proposed = _drafts.Counts.Sum();
        var accepted = 0;
        for (var b = 0; b < batch; b++) if (_active[b]) accepted += _accepted[b];
        _stats.Rounds++;
        _stats.RowRounds += _active.Count(a => a);
        _stats.Proposed += proposed;
        _stats.Accepted += accepted;
        _stats.DraftTime += draftTime;
        _stats.VerifyTime += verifyTime;
        _stats.Generation.DecodeTime += draftTime + verifyTime;
        _gamma.Observe(gamma, proposed, accepted, draftTime, verifyTime);
    }

    /// <summary>Appends a token to a row; false once the row is finished.</summary>
    private bool Emit(int row, int token)
    {
        _rows[row].Add(token);
        _outputs[row].Add(token);
        _stats.Generation.GeneratedTokens++;
        if (_options.Generation.StopTokenIds.Contains(token)) _finish[row] = FinishReason.Stop;
        else if (_outputs[row].Count >= _options.Generation.MaxNewTokens) _finish[row] = FinishReason.Length;
        return _finish[row] is null;
    }

    private void Finish()
    {
        _stats.Generation.KvBytes = _cache.UsedBytes;
        _stats.Generation.KvBytesPerToken = _cache.BytesPerToken;
    }

    public void Dispose() => _cache.Dispose();
}
