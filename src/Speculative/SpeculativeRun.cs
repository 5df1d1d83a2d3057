using System.Diagnostics;
using System.Runtime.InteropServices;
using Condensa.Runtime;
using Condensa.Runtime.Generation;
using Condensa.Runtime.Sampling;

namespace Condensa.Speculative;

/// <summary>
/// One chain-speculative generation: on top of the shared run state, the draft buffers, γ controller and verifier
/// scratch a round needs, allocated once.
/// </summary>
internal sealed class SpeculativeRun : SpeculativeRunState
{
    private readonly IDrafter _drafter;
    private readonly SpeculativeOptions _options;
    private readonly GammaController _gamma;
    private readonly DraftBuffers _drafts;
    private readonly float[] _p;               // [maxGamma + 1, vocab] one row's target distributions
    private readonly float[] _residual;        // [vocab]
    private readonly bool[] _active;
    private readonly int[] _counts, _lengthsBefore, _accepted, _next;
    private readonly int[] _tokens;            // [batch, maxGamma + 1] one verification pass

    public SpeculativeRun(IDecoder target, IReadOnlyList<IReadOnlyList<int>> prompts, IDrafter drafter, SpeculativeOptions options,
        SpeculativeStats stats)
        : base(target, prompts, options.Generation, stats)
    {
        (_drafter, _options) = (drafter, options);
        var batch = prompts.Count;
        var sampling = options.Generation.Sampling;
        _gamma = new GammaController(options.Gamma, options.MaxGamma);
        _drafts = new DraftBuffers(batch, _gamma.MaxGamma, Vocab, withDistributions: !sampling.IsGreedy);
        _p = new float[(_gamma.MaxGamma + 1) * Vocab];
        _residual = new float[Vocab];
        _active = new bool[batch];
        _counts = new int[batch];
        _lengthsBefore = new int[batch];
        _accepted = new int[batch];
        _next = new int[batch];
        _tokens = new int[batch * (_gamma.MaxGamma + 1)];
    }

    /// <summary>Chunked prefill of every prompt on the target (the drafter sees each pass), then the first token.</summary>
    public void Prefill() => Prefill((cache, counts) => _drafter.ObservePrefill(cache, counts));

    /// <summary>One round: propose, verify in one target pass, accept, commit both caches, emit.</summary>
    public override void Round()
    {
        var batch = Rows.Length;
        var gamma = _gamma.Next();
        for (var b = 0; b < batch; b++) _active[b] = Finished[b] is null;

        // 1) propose up to γ drafts per active row, never past the token limit or the context
        var clock = Stopwatch.StartNew();
        _drafter.Propose(Rows, _active, gamma, _drafts);
        var draftTime = clock.Elapsed;
        for (var b = 0; b < batch; b++)
        {
            var roomForTokens = Generation.MaxNewTokens - Outputs[b].Count - 1;
            var roomInContext = Cache.MaxCapacity - Cache.Lengths[b] - 1;
            _drafts.Counts[b] = _active[b] ? Math.Clamp(Math.Min(_drafts.Counts[b], Math.Min(roomForTokens, roomInContext)), 0, gamma) : 0;
        }

        // 2) verify [last, d1..dn] of every active row in one target pass
        clock.Restart();
        var seqLen = 1 + _drafts.Counts.Max();
        var tokens = _tokens.AsSpan(0, batch * seqLen);
        for (var b = 0; b < batch; b++)
        {
            _lengthsBefore[b] = Cache.Lengths[b];
            _counts[b] = _active[b] ? _drafts.Counts[b] + 1 : 0;
            if (!_active[b]) continue;
            tokens[b * seqLen] = Rows[b][^1];
            _drafts.Row(b).CopyTo(tokens[(b * seqLen + 1)..]);
        }
        // 3) accept: each row keeps its accepted prefix plus one corrected or bonus token (greedy: from the target's argmax
        //    tokens alone, so the logits need not reach the host)
        if (VerifiesByArgmax)
        {
            var greedy = Target.ForwardGreedy(Cache, new ForwardInputs(tokens, _counts, LogitsSelection.All));   // [batch, seqLen]
            for (var b = 0; b < batch; b++)
                if (_active[b]) _accepted[b] = ChainVerifier.VerifyGreedy(greedy.Slice(b * seqLen, seqLen), _drafts.Row(b), out _next[b]);
        }
        else
        {
            Accept(Target.Forward(Cache, new ForwardInputs(tokens, _counts, LogitsSelection.All)), seqLen);
        }

        // 4) commit: the target keeps [last, d1..da]; the drafter rewinds or copies to match
        for (var b = 0; b < batch; b++)
            if (_active[b]) Cache.RewindTo(b, _lengthsBefore[b] + _accepted[b] + 1);
        _drafter.Commit(Cache, _lengthsBefore, _accepted, _active);
        var verifyTime = clock.Elapsed;

        // 5) emit the accepted drafts and the extra token, stopping at a stop token or the limit
        for (var b = 0; b < batch; b++)
        {
            if (!_active[b]) continue;
            foreach (var token in _drafts.Row(b)[.._accepted[b]])
                if (!Emit(b, token)) break;
            if (Finished[b] is null) Emit(b, _next[b]);
        }

        var proposed = _drafts.Counts.Sum();
        var accepted = 0;
        for (var b = 0; b < batch; b++) if (_active[b]) accepted += _accepted[b];
        RecordRound(_active.Count(a => a), proposed, accepted, draftTime, verifyTime);
        _gamma.Observe(gamma, proposed, accepted, draftTime, verifyTime);
    }

    // Speculative sampling per active row from the target's logits [batch, seqLen, vocab], through the row's sampler.
    private void Accept(ReadOnlySpan<float> logits, int seqLen)
    {
        for (var b = 0; b < Rows.Length; b++)
        {
            if (!_active[b]) continue;
            var n = _drafts.Counts[b];
            var drafts = _drafts.Row(b);
            for (var i = 0; i <= n; i++)
                Samplers[b].Distribution(logits.Slice((b * seqLen + i) * Vocab, Vocab), CollectionsMarshal.AsSpan(Rows[b]), drafts[..i],
                    _p.AsSpan(i * Vocab, Vocab));
            _accepted[b] = ChainVerifier.Verify(_p.AsSpan(0, (n + 1) * Vocab), _drafts.RowDistributions(b), drafts, Vocab, Random, _residual,
                out _next[b]);
        }
    }
}
