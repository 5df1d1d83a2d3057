#!/usr/bin/env python3
"""The transformers peer of `condensa bench --speculative` at batch 1 (transformers' assisted generation takes one row):
the shipped demo-code-mha in float16 with sdpa attention, decoding greedily with generate() over prompts cut from the same
text as bench's, plain, with prompt lookup (prompt_lookup_num_tokens) and with demo-code-draft as the assistant model.

Prompts: the text's tokens (demo-code's tokenizer.json, no special tokens) from the start, BOS first, CONTEXT tokens in
all, as bench cuts its first row's prompt (SpeculativeBench.Prompts); bench's tokenizer is its own, so the cut may differ
by a token or so. Per context and mode: one warm-up generate of 16 tokens, then NEW tokens, exactly (min_new_tokens);
decode tok/s = (NEW - 1) / (time - the prefill time of a 1-token generate of the same mode's models). Each mode's tokens
are compared with plain decoding's.
usage: hf_spec_peer.py TEXT_FILE [--models DIR] [--contexts 1024,4096,7680] [--new 256] [--lookup 10]
"""
import argparse
import pathlib
import time

import torch
from tokenizers import Tokenizer
from transformers import LlamaForCausalLM


def timed(fn):
    torch.cuda.synchronize()
    start = time.perf_counter()
    out = fn()
    torch.cuda.synchronize()
    return out, time.perf_counter() - start


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("text")
    ap.add_argument("--models", default="models")
    ap.add_argument("--contexts", default="1024,4096,7680")
    ap.add_argument("--new", type=int, default=256)
    ap.add_argument("--lookup", type=int, default=10, help="prompt_lookup_num_tokens")
    args = ap.parse_args()
    models = pathlib.Path(args.models)
    load = lambda name: LlamaForCausalLM.from_pretrained(models / name, dtype=torch.float16, attn_implementation="sdpa").cuda().eval()
    target, draft = load("demo-code-mha"), load("demo-code-draft")
    tokenizer = Tokenizer.from_file(str(models / "demo-code" / "tokenizer.json"))
    corpus = tokenizer.encode(pathlib.Path(args.text).read_text(encoding="utf-8"), add_special_tokens=False).ids
    bos = target.config.bos_token_id
    print(f"transformers speculative peer: demo-code-mha fp16 sdpa, assistant demo-code-draft, {len(corpus)} corpus tokens, "
          f"{args.new} new tokens, batch 1", flush=True)
    print("| mode | context | decode tok/s | vs plain | same tokens as plain |\n|---|---:|---:|---:|---|", flush=True)
    modes = {"none": {}, "lookup": {"prompt_lookup_num_tokens": args.lookup}, "draft": {"assistant_model": draft}}
    for context in (int(c) for c in args.contexts.split(",")):
        body = [corpus[i % len(corpus)] for i in range(context - 1)]
        ids = torch.tensor([[bos] + body], device="cuda")
        plain_tokens, plain_rate = None, None
        for mode, extra in modes.items():
            run = lambda n: target.generate(ids, max_new_tokens=n, min_new_tokens=n, do_sample=False, **extra)
            with torch.no_grad():
                run(16)   # warm-up
                _, prefill = timed(lambda: run(1))
                out, total = timed(lambda: run(args.new))
            tokens = out[0, ids.shape[1]:].tolist()
            rate = (args.new - 1) / (total - prefill)
            if mode == "none":
                plain_tokens, plain_rate = tokens, rate
            first = next((i for i, (a, b) in enumerate(zip(tokens, plain_tokens)) if a != b), None)
            same = "yes" if first is None and len(tokens) == len(plain_tokens) else f"NO: from token {first}"
            print(f"| {mode} | {context} | {rate:.1f} | {rate / plain_rate:.2f}x | {same} |", flush=True)


if __name__ == "__main__":
    main()
