#!/usr/bin/env python3
"""Evaluates the three demo checkpoints as shipped (fp16 files loaded back and upcast to float32), optionally a
second, baseline set of the same three (--baseline, e.g. the previous checkpoints) measured the same way, and
writes the golden fixtures of demo-code and demo-code-lckv (from --models).

- Held-out perplexity by context (--contexts, default 1K / 4K / 8K): for a context L, the first
  --ppl-tokens / L non-overlapping (L + 1)-token windows of the held-out stream (every file <s> ids </s>,
  files concatenated, so a window spans several files), predicting tokens 1..L of each window; ppl =
  exp(mean NLL per token) over all L positions, and over the last 1024 positions of each window alone (the
  tokens that have the most context). demo-code-lckv: iterative parallel forward with forward_passes +
  backward_passes = 9 passes (as trained); on the first --seq-windows 1K windows also exact sequential decoding
  (--models only).
- Greedy speculative acceptance by context (--accept-contexts): --prompts end points e in the held-out stream
  (seed 0, e >= the largest context, no <s> / </s> among the next new-tokens + gamma tokens); for context C the
  prompt is the C - new_tokens - gamma tokens before e, so every verified position is below C, and the prompts
  of all contexts end at the same points. The target's greedy continuation (KV-cached) is computed first. A
  chain round proposes up to gamma tokens greedily and accepts the longest prefix equal to the target's; while
  proposals agree the drafter's context is exactly the target's tokens, so one teacher-forced pass over the
  target's continuation gives every round's outcome: hit[t] = (drafter's argmax at t == target's token at t).
  Rounds commit accepted + 1 tokens until --new-tokens are committed.
  Drafters: demo-code-draft over the whole context (what ModelDrafter.ForDraftModel does), and demo-code over a StreamingLLM
  budget (--budgets sinks+window; ModelDrafter.ForSelfSpeculation): a drafted position t sees the target's own full-context
  KV of the first `sinks` positions and of the `window` positions before t, and its own position's KV computed
  over that budget. One forward does it: the sequence, then its drafted positions again with the same position
  ids, under a mask that gives the first copy causal attention and each second-copy row the budget. (The
  runtime's ring holds the window of the round's start plus the round's drafts, so it sees up to gamma - 1
  more positions, and it sees earlier drafts of the same round with budget KV rather than full-context KV.)
- Golden fixtures: 16-token code prompt (<s> + 15 ids), float32 logits at positions 12..15 and 16 greedy
  tokens (full recompute each step; EOS not special-cased). LCKV: exact sequential decoding; the logits of the
  9-pass iterative forward over the same 16 tokens are stored too.

results.json is rewritten after every section, so a run cut short keeps what it measured.

--single DIR[,DIR] measures checkpoints alone instead, each as a target: perplexity and self-speculation's acceptance
by context, no draft model and no golden fixtures (a model beside the three, e.g. demo-code-mha, with demo-code beside
it for comparison).

Re-run (GPU machine): python3 tools/train/evaluate.py --models /tmp/w/models --baseline models \\
    --data /tmp/w/data --tokenizer-dir /tmp/w/tok --out /tmp/w/eval
"""
import argparse
import json
import math
import os
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import lckv  # noqa: E402
from common import BOS, EOS, PRESETS, SEQ_LEN, THE_THREE, dump_json, load_tokens, param_count, round9  # noqa: E402

GOLDEN_TEXT = ('def fibonacci(n):\n    """Return the n-th Fibonacci number."""\n    if n < 2:\n        return n\n'
               '    return fibonacci(n - 1) + fibonacci(n - 2)\n')
DEV = torch.device("cuda" if torch.cuda.is_available() else "cpu")
PASS_TOKENS = 65536  # tokens per forward pass: keeps the float32 logits of a pass at 1 GB


def load_llama(path):
    from transformers import LlamaForCausalLM
    try:
        m = LlamaForCausalLM.from_pretrained(path, dtype=torch.float32)
    except TypeError:
        m = LlamaForCausalLM.from_pretrained(path, torch_dtype=torch.float32)
    m = m.float().to(DEV).eval()
    assert next(m.parameters()).dtype == torch.float32
    return m


def llama_fn(m):
    return lambda x: m(input_ids=x, use_cache=False).logits.float()


def facts_of(d, model):
    """A checkpoint folder's facts for results.json: parameters, file size, context, RoPE base."""
    cfg = json.load(open(os.path.join(d, "config.json")))
    rope = cfg.get("rope_parameters") or {}
    return {"params": param_count(model), "safetensors_bytes": os.path.getsize(os.path.join(d, "model.safetensors")),
            "max_position_embeddings": cfg["max_position_embeddings"], "rope_theta": cfg.get("rope_theta", rope.get("rope_theta"))}


def load_set(folder):
    """The three models of a folder: {name: model}, {name: logits function}, {name: facts for results.json}."""
    models, facts = {}, {}
    for name in THE_THREE:
        d = os.path.join(folder, name)
        models[name] = load_llama(d) if PRESETS[name]["kind"] == "llama" else lckv.load(d, torch.float32, DEV)
        facts[name] = facts_of(d, models[name])
    fns = {"demo-code": llama_fn(models["demo-code"]), "demo-code-draft": llama_fn(models["demo-code-draft"]),
           "demo-code-lckv": lambda x: models["demo-code-lckv"](x)}
    return models, fns, facts


@torch.no_grad()
def nll(fn, windows, bs):
    """windows [N, S+1] -> (sum of NLL, count) predicting positions 1..S."""
    tot, cnt = 0.0, 0
    for i in range(0, windows.shape[0], bs):
        w = windows[i:i + bs]
        logits = fn(w[:, :-1])  # [b, S, V]
        tot += F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), w[:, 1:].reshape(-1),
                               reduction="sum").item()
        cnt += w[:, 1:].numel()
    return tot, cnt


@torch.no_grad()
def ppl_at(fn, held, L, n_tokens):
    """Perplexity over the first n_tokens / L non-overlapping (L + 1)-token windows of the held-out stream:
    over all L predicted positions, and over the last SEQ_LEN of them."""
    n = min(n_tokens // L, (len(held) - 1) // (L + 1))
    w = torch.from_numpy(held[: n * (L + 1)].astype(np.int64)).view(n, L + 1)  # [n, L+1]
    bs = max(1, PASS_TOKENS // L)
    tail = min(SEQ_LEN, L)
    tot = tail_tot = 0.0
    for i in range(0, n, bs):
        x = w[i:i + bs].to(DEV)
        logits = fn(x[:, :-1])  # [b, L, V]
        tok_nll = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1),
                                  reduction="none").view(x.shape[0], L)  # [b, L]
        tot += tok_nll.sum().item()
        tail_tot += tok_nll[:, -tail:].sum().item()
    return {"windows": n, "window_len": L + 1, "tokens": n * L, "ppl": math.exp(tot / (n * L)),
            "ppl_last_1k": math.exp(tail_tot / (n * tail))}


@torch.no_grad()
def greedy_extend(fn, seq, n):
    """seq [B, L] -> [B, L + n] by full-recompute greedy steps (no KV cache: exact)."""
    for _ in range(n):
        nxt = fn(seq)[:, -1].argmax(-1, keepdim=True)
        seq = torch.cat([seq, nxt], dim=1)
    return seq


@torch.no_grad()
def greedy_cached(m, prompts, n):
    """prompts [B, P] -> [B, P + n]: the target's greedy continuation with transformers' KV cache."""
    out = m(input_ids=prompts, use_cache=True, logits_to_keep=1)
    past, toks = out.past_key_values, []
    nxt = out.logits[:, -1].argmax(-1, keepdim=True)  # [B, 1]
    for _ in range(n):
        toks.append(nxt)
        if len(toks) == n:
            break
        out = m(input_ids=nxt, past_key_values=past, use_cache=True)
        past, nxt = out.past_key_values, out.logits[:, -1].argmax(-1, keepdim=True)
    return torch.cat([prompts] + toks, dim=1)


@torch.no_grad()
def draft_hits(draft, seq, q):
    """seq [B, T] -> hits [B, q]: the draft model's argmax from seq[:, :t] equals seq[:, t], t = T - q .. T - 1."""
    logits = draft(input_ids=seq[:, :-1], use_cache=False, logits_to_keep=q).logits  # [B, q, V]
    return logits.argmax(-1) == seq[:, -q:]


def budget_mask(S, P0, sinks, window, device):
    """[S + Q, S + Q] bool (True = attend) for the doubled sequence of budget_hits: rows < S causal over the first
    copy; row S + i (position P0 + i) sees the first copy's positions < sinks and [P0 + i - window, P0 + i), and
    itself in the second copy."""
    Q = S - P0
    n = S + Q
    r = torch.arange(n, device=device)[:, None]
    j = torch.arange(n, device=device)[None, :]
    first = (r < S) & (j <= r)
    t = P0 + (r - S)  # position of a second-copy row
    second = (r >= S) & (((j < S) & ((j < sinks) | ((j >= t - window) & (j < t)))) | (j == r))
    return first | second


@torch.no_grad()
def budget_hits(target, seq, q, sinks, window):
    """seq [B, T] -> hits [B, q] of the target drafting for itself over a sinks + window budget (module doc)."""
    x = seq[:, :-1]  # [B, S]: position t's row predicts token t + 1
    B, S = x.shape
    P0 = S - q  # first drafted row
    ids = torch.cat([x, x[:, P0:]], dim=1)  # [B, S + q]
    pos = torch.cat([torch.arange(S, device=x.device), torch.arange(P0, S, device=x.device)])[None].expand(B, -1)
    mask = budget_mask(S, P0, sinks, window, x.device)[None, None].expand(B, 1, -1, -1)  # [B, 1, S+q, S+q]
    logits = target(input_ids=ids, position_ids=pos, attention_mask=mask, use_cache=False,
                    logits_to_keep=q).logits  # [B, q, V]
    return logits.argmax(-1) == seq[:, -q:]


def rounds_from_hits(hits, new_tokens, gamma):
    """hits [N, new_tokens + gamma - 1 or more] bool -> chain-round statistics (module doc)."""
    accepted = rounds = 0
    hist = [0] * (gamma + 1)
    for row in hits.tolist():
        k = 0
        while k < new_tokens:
            m = 0
            while m < gamma and row[k + m]:
                m += 1
            accepted += m
            rounds += 1
            hist[m] += 1
            k += m + 1
    return {"rounds": rounds, "proposed": rounds * gamma, "accepted": accepted,
            "acceptance_rate": accepted / (rounds * gamma), "mean_accepted_per_round": accepted / rounds,
            "mean_tokens_per_round": (accepted + rounds) / rounds, "accepted_histogram": hist}


def pick_ends(held, n, min_start, span):
    """n sorted end points e (seed 0): e >= min_start, no <s> / </s> in held[e : e + span]."""
    bad = np.concatenate([[0], np.cumsum((held == BOS) | (held == EOS))])
    e = np.arange(min_start, len(held) - span)
    ok = e[bad[e + span] - bad[e] == 0]
    rng = np.random.default_rng(0)
    return np.sort(rng.choice(ok, size=n, replace=False))


@torch.no_grad()
def acceptance_by_context(target, draft, held, ends, contexts, new_tokens, gamma, budgets, log):
    """{drafter: {context: statistics}} for the draft model (none: left out) and every self-speculation budget of the
    target."""
    q = new_tokens + gamma  # drafted positions per prompt (module doc)
    out = {}
    for C in contexts:
        P = C - q
        prompts = torch.from_numpy(np.stack([held[e - P:e] for e in ends]).astype(np.int64))  # [N, P]
        bs = max(1, PASS_TOKENS // (2 * C))  # the budget pass holds C + q tokens of ids, logits only for q
        hits = ({"draft": []} if draft is not None else {}) | {f"self_{s}+{w}": [] for s, w in budgets}
        for i in range(0, len(ends), bs):
            seq = greedy_cached(target, prompts[i:i + bs].to(DEV), q)  # [b, C]
            if draft is not None:
                hits["draft"].append(draft_hits(draft, seq, q).cpu())
            for s, w in budgets:
                hits[f"self_{s}+{w}"].append(budget_hits(target, seq, q, s, w).cpu())
        for name, h in hits.items():
            st = rounds_from_hits(torch.cat(h), new_tokens, gamma)
            st.update({"context": C, "prompt_len": P, "prompts": len(ends), "new_tokens": new_tokens,
                       "gamma": gamma})
            out.setdefault(name, {})[str(C)] = st
            log(f"  acceptance {name} at {C}: {st['acceptance_rate']:.3f} "
                f"({st['mean_accepted_per_round']:.2f} accepted / round)")
    return out


def margins(logits_rows):
    top = torch.topk(logits_rows, 2, dim=-1).values
    return (top[:, 0] - top[:, 1]).tolist()


@torch.no_grad()
def golden_llama(m, ids):
    fn = llama_fn(m)
    x = torch.tensor([ids], device=DEV)
    logits = fn(x)[0]  # [16, V]
    seq = greedy_extend(fn, x, 16)
    steps = torch.stack([fn(seq[:, :len(ids) + i])[0, -1] for i in range(16)])
    return logits, seq[0, len(ids):].tolist(), steps


@torch.no_grad()
def golden_lckv(m, ids):
    fn = lambda s: m.forward_sequential(s)  # noqa: E731
    x = torch.tensor([ids], device=DEV)
    logits = fn(x)[0]
    iterative = m(x)[0]  # 9 passes
    seq = greedy_extend(fn, x, 16)
    steps = torch.stack([fn(seq[:, :len(ids) + i])[0, -1] for i in range(16)])
    return logits, iterative, seq[0, len(ids):].tolist(), steps


def ints(s):
    return [int(x) for x in s.split(",") if x]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", help="folder of the three checkpoints to evaluate (and golden)")
    ap.add_argument("--single", help="instead: checkpoint folders (comma-separated) each measured alone as a target, "
                                     "perplexity and self-speculation's acceptance (e.g. demo-code-mha beside demo-code)")
    ap.add_argument("--baseline", help="folder of three earlier checkpoints, measured the same way")
    ap.add_argument("--data", required=True)
    ap.add_argument("--tokenizer-dir", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--contexts", type=ints, default=[1024, 4096, 8192], help="perplexity window lengths")
    ap.add_argument("--ppl-tokens", type=int, default=1 << 20, help="predicted tokens per perplexity figure")
    ap.add_argument("--seq-windows", type=int, default=64)
    ap.add_argument("--accept-contexts", type=ints, default=[256, 1024, 4096, 8192])
    ap.add_argument("--prompts", type=int, default=64)
    ap.add_argument("--new-tokens", type=int, default=128)
    ap.add_argument("--gamma", type=int, default=4)
    ap.add_argument("--budgets", default="16+256,4+508", help="self-speculation sinks+window budgets")
    a = ap.parse_args()
    if (a.models is None) == (a.single is None):
        ap.error("give --models (the three) or --single (checkpoints alone)")
    budgets = [tuple(int(v) for v in b.split("+")) for b in a.budgets.split(",") if b]
    t0 = time.time()
    log = lambda s: print(f"[eval {time.time() - t0:6.1f}s] {s}", flush=True)  # noqa: E731
    torch.set_float32_matmul_precision("highest")
    os.makedirs(a.out, exist_ok=True)
    R = {"device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
         "torch": torch.__version__, "sets": {}}
    try:
        import transformers
        R["transformers"] = transformers.__version__
    except Exception:  # noqa: BLE001
        pass
    failures = []

    def write():
        R["failures"] = failures
        R["eval_seconds"] = round(time.time() - t0, 1)
        with open(os.path.join(a.out, "results.json"), "w") as f:
            json.dump(R, f, indent=1)

    def section(name, f):
        try:
            f()
        except Exception:  # noqa: BLE001
            failures.append(name)
            log(f"FAILED {name}:\n{traceback.format_exc()}")
        write()

    held = load_tokens(a.data, "heldout")
    q = a.new_tokens + a.gamma
    ends = pick_ends(held, a.prompts, max(a.accept_contexts) - q, q)
    R["acceptance_setup"] = {"prompts": a.prompts, "new_tokens": a.new_tokens, "gamma": a.gamma,
                             "budgets": [f"{s}+{w}" for s, w in budgets], "end_points": ends.tolist()}

    def measure(label, folder, models, fns, facts, target="demo-code", draft="demo-code-draft"):
        S = R["sets"].setdefault(label, {})
        S.update({"folder": folder, "models": facts})
        for name, f in facts.items():
            log(f"[{label}] {name}: {f['params']:,} params, {f['safetensors_bytes'] / 1e6:.2f} MB, "
                f"max_position {f['max_position_embeddings']}, rope_theta {f['rope_theta']}")

        def do_ppl():
            P = S.setdefault("ppl", {})
            for L in a.contexts:
                for name, fn in fns.items():
                    P.setdefault(name, {})[str(L)] = r = ppl_at(fn, held, L, a.ppl_tokens)
                    log(f"[{label}] ppl {name} at {L}: {r['ppl']:.3f} (last 1K {r['ppl_last_1k']:.3f}; "
                        f"{r['windows']} windows)" + (" [iterative, 9 passes]" if "lckv" in name else ""))
                write()

        def do_accept():
            S["acceptance"] = acceptance_by_context(models[target], models.get(draft), held, ends, a.accept_contexts, a.new_tokens,
                                                    a.gamma, budgets, lambda m: log(f"[{label}]{m}"))

        section(f"{label}/ppl", do_ppl)
        section(f"{label}/acceptance", do_accept)

    if a.single:
        # each checkpoint alone as a target: perplexity and self-speculation's acceptance, no draft model, no golden
        for d in a.single.split(","):
            name = os.path.basename(os.path.normpath(d))
            model = load_llama(d)
            section(f"single/{name}", lambda: measure(f"single/{name}", d, {name: model}, {name: llama_fn(model)},
                                                      {name: facts_of(d, model)}, target=name, draft=None))
            del model
            torch.cuda.empty_cache()
        log(f"wrote {a.out}/results.json; failures: {failures}")
        return 1 if failures else 0

    # 1) golden fixtures (the tests need them), 2) the figures of the checkpoints under test, 3) the baseline
    # the same way, 4) the slow exact-LCKV subset last: a run cut short loses the least
    models, fns, facts = load_set(a.models)
    R["sets"]["new"] = {}

    def do_golden():
        import sentencepiece as spm
        sp = spm.SentencePieceProcessor(model_file=os.path.join(a.tokenizer_dir, "tokenizer.model"))
        ids = [BOS] + sp.encode(GOLDEN_TEXT)[:15]
        pos = [12, 13, 14, 15]
        logits, greedy, steps = golden_llama(models["demo-code"], ids)
        dump_json({"input_ids": ids, "last_logits": [[round9(v) for v in logits[p].tolist()] for p in pos],
                   "positions": pos, "greedy_tokens": greedy,
                   "text": sp.decode(ids[1:]), "dtype": "float32 (fp16 checkpoint upcast)",
                   "forward": "transformers LlamaForCausalLM, full recompute"},
                  os.path.join(a.out, "golden", "demo-code.json"))
        g = {"demo-code": {"greedy_text": sp.decode(greedy), "min_greedy_margin": min(margins(steps)),
                           "eos_in_greedy": EOS in greedy}}
        m = models["demo-code-lckv"]
        logits, iterative, greedy, steps = golden_lckv(m, ids)
        R_ = m.config["forward_passes"] + m.config["backward_passes"]
        dump_json({"input_ids": ids, "last_logits": [[round9(v) for v in logits[p].tolist()] for p in pos],
                   "positions": pos, "greedy_tokens": greedy,
                   "forward": "sequential_exact (token by token, paper semantics, force_nodiag in every layer)",
                   "iterative_passes": R_,
                   "iterative_last_logits": [[round9(v) for v in iterative[p].tolist()] for p in pos],
                   "text": sp.decode(ids[1:]), "dtype": "float32 (fp16 checkpoint upcast)"},
                  os.path.join(a.out, "golden", "demo-code-lckv.json"))
        diff = (logits - iterative).abs().max(-1).values.tolist()
        g["demo-code-lckv"] = {"greedy_text": sp.decode(greedy), "min_greedy_margin": min(margins(steps)),
                               "eos_in_greedy": EOS in greedy,
                               "max_abs_diff_sequential_vs_iterative_per_position": diff}
        R["sets"]["new"]["golden"] = g
        log(f"golden: {json.dumps(g)}")

    section("golden", do_golden)
    measure("new", a.models, models, fns, facts)
    if a.baseline:
        def do_baseline():
            measure("baseline", a.baseline, *load_set(a.baseline))
        section("baseline", do_baseline)
        torch.cuda.empty_cache()

    def do_seq():
        windows = torch.from_numpy(held[: a.seq_windows * (SEQ_LEN + 1)].astype(np.int64)).view(
            a.seq_windows, SEQ_LEN + 1).to(DEV)
        sub = {"windows": a.seq_windows, "window_len": SEQ_LEN + 1}
        t, c = nll(lambda x: models["demo-code-lckv"].forward_sequential(x), windows, a.seq_windows)
        sub["demo-code-lckv-sequential-exact"] = math.exp(t / c)
        for name, fn in fns.items():
            t, c = nll(fn, windows, 8)
            sub[name] = math.exp(t / c)
        R["sets"]["new"]["ppl_subset"] = sub
        log("subset ppl: " + ", ".join(f"{n} {v:.3f}" for n, v in sub.items() if "window" not in n))

    section("ppl_subset", do_seq)
    log(f"wrote {a.out}/results.json; failures: {failures}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
