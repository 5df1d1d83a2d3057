using System.Diagnostics;
using System.Runtime.InteropServices;
using Condensa.Runtime;
using Condensa.Runtime.Batching;

namespace Condensa.Speculative;

/// <summary>
/// Speculative decoding inside continuous batching: each decode pass is one chain round over the decoding rows
/// (propose with prompt lookup, verify [last, d1..dn] of every row in one target pass, keep the accepted prefix plus
/// the correction or bonus token, rewind the row). Prompt lookup keeps no per-row state, so rows can be refilled with
/// new documents between rounds; stateful drafters (a draft model's or a budget's cache) cannot, and are not offered.
/// Lossless like <see cref="SpeculativeGenerator"/>: greedy output equals plain decoding.
/// </summary>
public sealed class SpeculativeDecodeStep : IDecodeStep
{
    private readonly PromptLookupDrafter _drafter;
    private readonly GammaController _gamma;
    private readonly Random _random;        // the verifier's uniform draws
    private DraftBuffers? _drafts;
    private List<int>[] _histories = [];
    private bool[] _active = [];
    private int[] _tokens = [], _counts = [], _lengthsBefore = [], _accepted = [];
    private float[] _p = [], _residual = [];

    /// <summary>Creates the step: a fixed γ, or null to adapt it to measured acceptance and step times.</summary>
    public SpeculativeDecodeStep(PromptLookupDrafter drafter, int? gamma = null, int maxGamma = 12, int? seed = null)
    {
        _drafter = drafter ?? throw new ArgumentNullException(nameof(drafter));
        _gamma = new GammaController(gamma, maxGamma);
        _random = seed is { } s ? new Random(s) : new Random();
    }

    /// <summary>Rounds, drafted and accepted tokens, and where the time went.</summary>
    public SpeculativeStats Stats { get; } = new();

    /// <inheritdoc />
    public void Step(IDecoder model, KvCache cache, IReadOnlyList<BatchRow> rows)
    {
        var m = model.Manifest;
        if (m.KvLayers.Length != m.NumLayers)
            throw new CondensaException($"{m.Architecture} stores KV for {m.KvLayers.Length} of {m.NumLayers} layers (layer-condensed): verifying " +
                "drafted tokens in one pass is not exact for it. Decode it without speculation.");
        var batch = cache.BatchSize;
        var vocab = m.VocabSize;
        Allocate(batch, vocab);
        for (var b = 0; b < batch; b++)
        {
            _active[b] = rows[b].IsDecoding;
            _histories[b] = rows[b].Tokens;
        }
        var gamma = _gamma.Next();

        // 1) propose up to γ drafts per decoding row, never past the row's token limit or the context
        var clock = Stopwatch.StartNew();
        _drafter.Propose(_histories, _active, gamma, _drafts!);
        var draftTime = clock.Elapsed;
        for (var b = 0; b < batch; b++)
        {
            var roomInContext = cache.MaxCapacity - cache.Lengths[b] - 1;
            _drafts!.Counts[b] = _active[b] ? Math.Clamp(Math.Min(_drafts.Counts[b], Math.Min(rows[b].Room - 1, roomInContext)), 0, gamma) : 0;
        }

        // 2) verify [last, d1..dn] of every decoding row in one target pass
        clock.Restart();
        var seqLen = 1 + _drafts!.Counts.Max();
        if (_tokens.Length < batch * seqLen) _tokens = new int[batch * (_gamma.MaxGamma + 1)];
        var tokens = _tokens.AsSpan(0, batch * seqLen);                            // [batch, seqLen]
        tokens.Clear();
        for (var b = 0; b < batch; b++)
        {
            _lengthsBefore[b] = cache.Lengths[b];
            _counts[b] = _active[b] ? _drafts.Counts[b] + 1 : 0;
            if (!_active[b]) continue;
            tokens[b * seqLen] = rows[b].Tokens[^1];
            _drafts.Row(b).CopyTo(tokens[(b * seqLen + 1)..]);
        }
        // 3) accept per row with the row's own sampler (where every active row's is a plain argmax, from the target's greedy
        //    tokens alone); 4) the row's cache keeps [last, d1..da]
        var argmax = true;
        for (var b = 0; b < batch; b++) argmax &= !_active[b] || rows[b].Sampler.IsArgmax;
        var greedy = argmax ? model.ForwardGreedy(cache, new ForwardInputs(tokens, _counts, LogitsSelection.All)) : default;   // [batch, seqLen]
        var logits = argmax ? default : model.Forward(cache, new ForwardInputs(tokens, _counts, LogitsSelection.All));          // [batch, seqLen, vocab]
        var accepted = 0;
        for (var b = 0; b < batch; b++)
        {
            if (!_active[b]) continue;
            var row = rows[b];
            var n = _drafts.Counts[b];
            var drafts = _drafts.Row(b);
            int next;
            if (argmax)
            {
                _accepted[b] = ChainVerifier.VerifyGreedy(greedy.Slice(b * seqLen, n + 1), drafts, out next);
            }
            else
            {
                for (var i = 0; i <= n; i++)
                    row.Sampler.Distribution(logits.Slice((b * seqLen + i) * vocab, vocab), CollectionsMarshal.AsSpan(row.Tokens), drafts[..i],
                        _p.AsSpan(i * vocab, vocab));
                _accepted[b] = ChainVerifier.Verify(_p.AsSpan(0, (n + 1) * vocab), [], drafts, vocab, _random, _residual, out next);
            }
            cache.RewindTo(b, _lengthsBefore[b] + _accepted[b] + 1);
            row.Emitted.Clear();
            row.Emitted.AddRange(drafts[.._accepted[b]]);
            row.Emitted.Add(next);
            accepted += _accepted[b];
        }
        var verifyTime = clock.Elapsed;

        var proposed = _drafts.Counts.Sum();
        Stats.Rounds++;
        Stats.RowRounds += _active.Count(a => a);
        Stats.Proposed += proposed;
        Stats.Accepted += accepted;
        Stats.DraftTime += draftTime;
        Stats.VerifyTime += verifyTime;
        _gamma.Observe(gamma, proposed, accepted, draftTime, verifyTime);
    }

    private void Allocate(int batch, int vocab)
    {
        if (_active.Length == batch) return;
        _drafts = new DraftBuffers(batch, _gamma.MaxGamma, vocab, withDistributions: false);
        _histories = new List<int>[batch];
        _active = new bool[batch];
        (_counts, _lengthsBefore, _accepted) = (new int[batch], new int[batch], new int[batch]);
        _p = new float[(_gamma.MaxGamma + 1) * vocab];   // [maxGamma + 1, vocab] one row's target distributions
        _residual = new float[vocab];
    }
}
