#!/usr/bin/env python3
"""The transformers peer of `condensa bench --speculative none` over issue 18's grid: demo-code-mha as shipped, loaded
with LlamaForCausalLM in float32 and float16 with sdpa attention, decoding greedily with generate() and its default
(dynamic) cache, BATCH rows of CONTEXT prompt tokens each, as bench's plain rows do.

Prompt tokens are drawn at random from the vocabulary (decode speed does not depend on them). Per dtype and cell: one
warm-up generate of 4 tokens, a 1-token generate (the prefill), then NEW + 1 tokens exactly (min_new_tokens): decode tok/s
= BATCH * NEW / (that time - the prefill's).
usage: hf_grid_peer.py MODEL_DIR [--batches 1,8,32,64] [--contexts 1024,4096,7680] [--new 128] [--dtypes float32,float16]
"""
import argparse
import time

import torch
from transformers import LlamaForCausalLM


def timed(fn):
    torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    torch.cuda.synchronize()
    return time.perf_counter() - start


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--batches", default="1,8,32,64")
    ap.add_argument("--contexts", default="1024,4096,7680")
    ap.add_argument("--new", type=int, default=128)
    ap.add_argument("--dtypes", default="float32,float16")
    args = ap.parse_args()
    generator = torch.Generator(device="cuda").manual_seed(0)
    print("| dtype | batch | prompt tokens | decode tok/s | ms a step |\n|---|---:|---:|---:|---:|", flush=True)
    for dtype in args.dtypes.split(","):
        model = LlamaForCausalLM.from_pretrained(args.model, dtype=getattr(torch, dtype), attn_implementation="sdpa").cuda().eval()
        vocab = model.config.vocab_size
        for context in (int(c) for c in args.contexts.split(",")):
            for batch in (int(b) for b in args.batches.split(",")):
                ids = torch.randint(3, vocab, (batch, context), device="cuda", generator=generator)
                run = lambda n: model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=n, min_new_tokens=n,
                                               do_sample=False, pad_token_id=0)
                with torch.no_grad():
                    run(4)
                    prefill = timed(lambda: run(1))
                    total = timed(lambda: run(args.new + 1))
                decode = total - prefill
                print(f"| {dtype} | {batch} | {context} | {batch * args.new / decode:.1f} | {decode / args.new * 1e3:.2f} |", flush=True)
        del model
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
