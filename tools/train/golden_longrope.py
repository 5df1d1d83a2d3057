#!/usr/bin/env python3
"""Golden fixture for longrope past its original context, from transformers itself: the tiny phi3 checkpoint of
golden_tiny.py (tests/TestData/golden/phi3: Phi3ForCausalLM, longrope with short and long factors, original context 64
of 256 positions, partial_rotary_factor 0.5) loaded by transformers with eager attention, float32, on the CPU.

transformers' rotary embedding picks longrope's factors per forward call (dynamic_rope_update ->
longrope_frequency_update): seq_len = max(position_ids) + 1 over the batch, the long factors when seq_len > 64, else the
short ones; a key it cached is never rotated again. Phi3ForCausalLM.prepare_inputs_for_generation has (had?) an override
on top of that: the first time generate()'s sequence reaches 65 tokens with a cache of at most 64, it drops the cache and
runs the whole sequence again (so every key is long-rotated from there on). Which of the two generate() does in this
transformers version is measured here, not assumed:

  (a) "input_ids" [100] / "logits" [100][256]: one forward of 100 tokens (largest position 99: long factors throughout);
  (b) "greedy_prompt" [58] and three greedy continuations of 20 tokens, crossing position 64 at the 7th new token:
      "cached_tokens" / "cached_logits" [20][256]: forward calls by hand, the prompt then one token per call with a
        DynamicCache (transformers' per-call switch: positions 58..63 short, 64.. long, cached keys kept as they are);
      "recompute_tokens" / "recompute_logits" [20][256]: a forward of the whole sequence for every token, no cache
        (every key rotated by the whole sequence's factors, as a prefill of it is);
      "generate_tokens": generate(do_sample=False, max_new_tokens=20) with its default cache;
      "generate_matches": "cached", "recompute" or "neither", by generate()'s own per-step logits (output_logits)
        against the two above ("generate_vs_cached" / "generate_vs_recompute": the worst relative error of a step).
A prompt qualifies when none of the continuations holds EOS (2) and the cached continuation's smallest top-1/top-2 logit
gap is at least 3e-3 (robust to float32 summation order); the first of 60 seeded prompts that does is used.

Re-run on the device machine (torch 2.11, transformers 5.17; no network), from the repository root:
    python3 tools/train/golden_longrope.py --out $OUT/longrope
then copy $OUT/longrope/golden.json to tests/TestData/golden/phi3_longrope/golden.json (tools/train/README.md).
"""
import argparse
import json
import os
import sys

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHECKPOINT = os.path.join(ROOT, "tests", "TestData", "golden", "phi3")
ORIGINAL = 64
PROMPT_LENGTH = 58
NEW_TOKENS = 20
EOS = 2


def ids(count, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(3, 256, (count,), generator=g).tolist()   # no BOS / EOS / pad


def rel_error(a, b):
    return float((a - b).abs().max() / b.abs().max())


def top_gap(row):
    top = torch.topk(row, 2).values
    return float(top[0] - top[1])


@torch.no_grad()
def cached_continuation(model, prompt):
    """The prompt in one call, then one token per call through a DynamicCache, by hand: transformers' per-call switch."""
    from transformers import DynamicCache
    try:
        cache = DynamicCache(config=model.config)
    except TypeError:
        cache = DynamicCache()
    out = model(input_ids=torch.tensor([prompt]), past_key_values=cache, use_cache=True)
    rows, tokens = [], []
    for step in range(NEW_TOKENS):
        row = out.logits[0, -1].float()
        rows.append(row)
        tokens.append(int(row.argmax()))
        if step + 1 < NEW_TOKENS:
            position = len(prompt) + step
            out = model(input_ids=torch.tensor([[tokens[-1]]]), position_ids=torch.tensor([[position]]),
                        past_key_values=out.past_key_values, use_cache=True)
    return tokens, torch.stack(rows)


@torch.no_grad()
def recompute_continuation(model, prompt):
    """A forward of the whole sequence per token, no cache."""
    seq, rows = list(prompt), []
    for _ in range(NEW_TOKENS):
        row = model(input_ids=torch.tensor([seq])).logits[0, -1].float()
        rows.append(row)
        seq.append(int(row.argmax()))
    return seq[len(prompt):], torch.stack(rows)


@torch.no_grad()
def generate_continuation(model, prompt):
    p = torch.tensor([prompt])
    out = model.generate(input_ids=p, attention_mask=torch.ones_like(p), do_sample=False, max_new_tokens=NEW_TOKENS,
                         min_new_tokens=0, pad_token_id=0, output_logits=True, return_dict_in_generate=True)
    tokens = out.sequences[0, len(prompt):].tolist()
    rows = torch.stack([l[0].float() for l in out.logits])
    return tokens, rows


def rounded(rows):
    return [[float(f"{v:.9g}") for v in row] for row in rows.tolist()]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="folder for golden.json")
    ap.add_argument("--checkpoint", default=CHECKPOINT)
    a = ap.parse_args()
    import transformers
    torch.manual_seed(0)
    model = transformers.Phi3ForCausalLM.from_pretrained(a.checkpoint, attn_implementation="eager", dtype=torch.float32,
                                                         local_files_only=True).eval()
    rotary = model.model.rotary_emb
    rope_type = getattr(rotary, "rope_type", None)
    assert rope_type == "longrope", f"rotary embedding is {rope_type!r}, not longrope"
    assert model.config.original_max_position_embeddings == ORIGINAL, model.config.original_max_position_embeddings

    # (a) one forward of 100 tokens: seq_len 100 > 64, the long factors for every token
    input_ids = ids(100, seed=1000)
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([input_ids])).logits[0].float()   # [100, 256]

    # (b) the first seeded prompt whose continuations are clean
    chosen = None
    for seed in range(60):
        prompt = ids(PROMPT_LENGTH, seed=seed)
        cached, cached_rows = cached_continuation(model, prompt)
        gap = min(top_gap(r) for r in cached_rows)
        if EOS in cached or gap < 3e-3:
            continue
        recompute, recompute_rows = recompute_continuation(model, prompt)
        generated, generated_rows = generate_continuation(model, prompt)
        if EOS in recompute or EOS in generated or len(generated) != NEW_TOKENS:
            continue
        chosen = (seed, prompt, cached, cached_rows, recompute, recompute_rows, generated, generated_rows, gap)
        break
    if chosen is None:
        raise SystemExit("no prompt of 60 qualified")
    seed, prompt, cached, cached_rows, recompute, recompute_rows, generated, generated_rows, gap = chosen
    vs_cached = max(rel_error(g, c) for g, c in zip(generated_rows, cached_rows))
    vs_recompute = max(rel_error(g, r) for g, r in zip(generated_rows, recompute_rows))
    matches = ("cached" if vs_cached < 1e-4 and generated == cached
               else "recompute" if vs_recompute < 1e-4 and generated == recompute else "neither")
    # where the per-call switch and a recompute part: the first new token whose logits differ
    split = next((i for i, (c, r) in enumerate(zip(cached_rows, recompute_rows)) if rel_error(c, r) > 1e-4), None)

    os.makedirs(a.out, exist_ok=True)
    golden = {
        "input_ids": input_ids, "logits": rounded(logits),
        "greedy_prompt": prompt,
        "cached_tokens": cached, "cached_logits": rounded(cached_rows),
        "recompute_tokens": recompute, "recompute_logits": rounded(recompute_rows), "generate_tokens": generated,
        "generate_matches": matches, "generate_vs_cached": vs_cached, "generate_vs_recompute": vs_recompute,
        "cached_recompute_split": split, "min_cached_gap": gap, "prompt_seed": seed,
        "original_max_position_embeddings": ORIGINAL,
        "transformers_version": transformers.__version__, "torch_version": torch.__version__,
    }
    with open(os.path.join(a.out, "golden.json"), "w") as f:
        json.dump(golden, f, separators=(",", ":"))
        f.write("\n")
    print(f"prompt seed {seed}, min cached gap {gap:.4f}")
    print(f"cached    {cached}\nrecompute {recompute}\ngenerate  {generated}")
    print(f"generate() matches: {matches} (vs cached {vs_cached:.2e}, vs recompute {vs_recompute:.2e}); "
          f"cached and recompute part at new token {split}")
    print(f"transformers {transformers.__version__}, torch {torch.__version__}: wrote {os.path.join(a.out, 'golden.json')}")


if __name__ == "__main__":
    sys.exit(main())
