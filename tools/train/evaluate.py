#!/usr/bin/env python3
"""Evaluates the three demo checkpoints as shipped (fp16 files loaded back and upcast to float32) and writes
the golden fixtures of demo-code and demo-code-lckv.

- Held-out perplexity: non-overlapping 1025-token windows of the held-out stream (every file <s> ids </s>,
  files concatenated), predicting tokens 1..1024 of each window; ppl = exp(mean NLL per token).
  demo-code-lckv: iterative parallel forward with forward_passes + backward_passes = 9 passes (as trained),
  and, on the first --seq-windows windows, exact sequential decoding (all three models also on that subset).
- Greedy acceptance of demo-code-draft against demo-code: --prompts held-out prompts of --prompt-len tokens
  (random offsets inside distinct held-out files, seed 0). The target's greedy continuation is computed first;
  a chain round lets the draft propose gamma greedy tokens from the current prefix, accepts the longest
  prefix equal to the target's tokens and adds the target's next token (so every round commits accepted + 1
  tokens; the output equals the target's greedy output). Reported: accepted / proposed, and mean accepted
  per round, over rounds until --new-tokens tokens are committed.
- Golden fixtures: 16-token code prompt (<s> + 15 ids), float32 logits at positions 12..15 and 16 greedy
  tokens (full recompute each step; EOS not special-cased). LCKV: exact sequential decoding; the logits of the
  9-pass iterative forward over the same 16 tokens are stored too.

Re-run (GPU machine): python3 tools/train/evaluate.py --models /tmp/w/models --data /tmp/w/data \\
    --tokenizer-dir /tmp/w/tok --out /tmp/w/eval
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
from common import BOS, EOS, PRESETS, SEQ_LEN, dump_json, load_tokens, param_count, round9  # noqa: E402

GOLDEN_TEXT = ('def fibonacci(n):\n    """Return the n-th Fibonacci number."""\n    if n < 2:\n        return n\n'
               '    return fibonacci(n - 1) + fibonacci(n - 2)\n')
DEV = torch.device("cuda" if torch.cuda.is_available() else "cpu")


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


def ppl(fn, windows, bs):
    t, c = nll(fn, windows, bs)
    return math.exp(t / c), c


@torch.no_grad()
def greedy_extend(fn, seq, n):
    """seq [B, L] -> [B, L + n] by full-recompute greedy steps (no KV cache: exact)."""
    for _ in range(n):
        nxt = fn(seq)[:, -1].argmax(-1, keepdim=True)
        seq = torch.cat([seq, nxt], dim=1)
    return seq


@torch.no_grad()
def acceptance(target_fn, draft_fn, prompts, new_tokens, gamma):
    N, Lp = prompts.shape
    base = greedy_extend(target_fn, prompts, new_tokens + gamma)  # target greedy = what speculation must output
    ar = torch.arange(N, device=prompts.device)
    k = torch.zeros(N, dtype=torch.long, device=prompts.device)  # committed new tokens per prompt
    accepted = rounds = 0
    hist = [0] * (gamma + 1)
    while bool((k < new_tokens).any()):
        active = k < new_tokens
        L = Lp + torch.where(active, k, torch.zeros_like(k))  # current prefix length (finished rows: dummy)
        maxL = int(L.max())
        work = base[:, :maxL + gamma].clone()
        props = []
        for g in range(gamma):  # 1) the draft proposes gamma greedy tokens
            tok = draft_fn(work[:, :maxL + g])[ar, L + g - 1].argmax(-1)
            work[ar, L + g] = tok
            props.append(tok)
        props = torch.stack(props, 1)  # [N, gamma]
        truth = base[ar[:, None], L[:, None] + torch.arange(gamma, device=L.device)[None, :]]
        match = (props == truth).long().cumprod(1).sum(1)  # 2) longest agreeing prefix
        accepted += int(match[active].sum())
        rounds += int(active.sum())
        for m in match[active].tolist():
            hist[m] += 1
        k = torch.where(active, k + match + 1, k)  # 3) commit accepted + the target's own token
    return {"prompts": N, "prompt_len": Lp, "new_tokens": new_tokens, "gamma": gamma, "rounds": rounds,
            "proposed": rounds * gamma, "accepted": accepted,
            "acceptance_rate": accepted / (rounds * gamma),
            "mean_accepted_per_round": accepted / rounds,
            "mean_tokens_per_round": (accepted + rounds) / rounds,
            "accepted_histogram": hist}


def pick_prompts(held, starts, n, plen, need):
    ends = starts[1:] + [len(held)]
    docs = [(s, e) for s, e in zip(starts, ends) if e - s >= plen + need + 2]
    rng = np.random.default_rng(0)
    order = rng.permutation(len(docs))
    out = []
    for j in range(n):
        s, e = docs[int(order[j % len(docs)])]
        off = int(rng.integers(s + 1, e - plen - need))
        out.append(held[off:off + plen])
    return torch.from_numpy(np.stack(out).astype(np.int64)).to(DEV)


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


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--tokenizer-dir", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--ppl-windows", type=int, default=1024)
    ap.add_argument("--seq-windows", type=int, default=64)
    ap.add_argument("--prompts", type=int, default=50)
    ap.add_argument("--prompt-len", type=int, default=128)
    ap.add_argument("--new-tokens", type=int, default=128)
    ap.add_argument("--gamma", type=int, default=4)
    a = ap.parse_args()
    t0 = time.time()
    log = lambda s: print(f"[eval {time.time() - t0:6.1f}s] {s}", flush=True)  # noqa: E731
    torch.set_float32_matmul_precision("highest")
    os.makedirs(a.out, exist_ok=True)
    R = {"device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
         "torch": torch.__version__}
    try:
        import transformers
        R["transformers"] = transformers.__version__
    except Exception:  # noqa: BLE001
        pass
    failures = []

    def section(name, f):
        try:
            f()
        except Exception:  # noqa: BLE001
            failures.append(name)
            log(f"FAILED {name}:\n{traceback.format_exc()}")

    models = {}
    for name in PRESETS:
        d = os.path.join(a.models, name)
        models[name] = load_llama(d) if PRESETS[name]["kind"] == "llama" else lckv.load(d, torch.float32, DEV)
        st = os.path.join(d, "model.safetensors")
        R.setdefault("models", {})[name] = {
            "params": param_count(models[name]), "safetensors_bytes": os.path.getsize(st),
            "config": json.load(open(os.path.join(d, "config.json")))}
        log(f"{name}: {R['models'][name]['params']:,} params, {os.path.getsize(st) / 1e6:.2f} MB")
    fns = {"demo-code": llama_fn(models["demo-code"]), "demo-code-draft": llama_fn(models["demo-code-draft"]),
           "demo-code-lckv": lambda x: models["demo-code-lckv"](x)}

    held = load_tokens(a.data, "heldout")
    starts = json.load(open(os.path.join(a.data, "heldout_docs.json")))
    nwin = min(a.ppl_windows, (len(held) - 1) // (SEQ_LEN + 1))
    windows = torch.from_numpy(held[: nwin * (SEQ_LEN + 1)].astype(np.int64)).view(nwin, SEQ_LEN + 1).to(DEV)

    def do_ppl():
        R["ppl"] = {"windows": nwin, "window_len": SEQ_LEN + 1}
        for name, fn in fns.items():
            p, c = ppl(fn, windows, 8)
            R["ppl"][name] = p
            R["ppl"]["tokens"] = c
            log(f"held-out ppl {name}: {p:.3f} ({c:,} tokens)" + (" [iterative, 9 passes]" if "lckv" in name else ""))

    def do_seq():
        k = min(a.seq_windows, nwin)
        sub = windows[:k]
        S = {"windows": k}
        S["demo-code-lckv-sequential-exact"] = ppl(lambda x: models["demo-code-lckv"].forward_sequential(x), sub, k)[0]
        for name, fn in fns.items():
            S[name] = ppl(fn, sub, 8)[0]
        R["ppl_subset"] = S
        log(f"subset ppl ({k} windows): " + ", ".join(f"{n} {v:.3f}" for n, v in S.items() if n != "windows"))

    def do_accept():
        prompts = pick_prompts(held, starts, a.prompts, a.prompt_len, a.new_tokens + a.gamma)
        R["acceptance"] = acceptance(fns["demo-code"], fns["demo-code-draft"], prompts, a.new_tokens, a.gamma)
        log(f"acceptance: {json.dumps(R['acceptance'])}")

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
        R["golden"] = g
        log(f"golden: {json.dumps(g)}")

    section("ppl", do_ppl)
    section("ppl_subset", do_seq)
    section("acceptance", do_accept)
    section("golden", do_golden)
    R["failures"] = failures
    R["eval_seconds"] = round(time.time() - t0, 1)
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump(R, f, indent=1)
    log(f"wrote {a.out}/results.json; failures: {failures}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
