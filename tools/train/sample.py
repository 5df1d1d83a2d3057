#!/usr/bin/env python3
"""Loads the shipped checkpoints the way a user would (AutoTokenizer / AutoModelForCausalLM for the Llama ones,
lckv.load for demo-code-lckv) and prints greedy completions of a few code prompts (float32, full recompute).

Re-run: python3 tools/train/sample.py --models models
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402

import lckv  # noqa: E402

PROMPTS = [
    "import os\n\n\ndef read_lines(path):\n    \"\"\"Return the lines of a text file.\"\"\"\n",
    "class Stack:\n    def __init__(self):\n        self.items = []\n\n    def push(self, item):\n",
    "for i in range(10):\n    if i % 2 == 0:\n",
]


@torch.no_grad()
def greedy(fn, ids, n):
    for _ in range(n):
        ids = torch.cat([ids, fn(ids)[:, -1].argmax(-1, keepdim=True)], dim=1)
    return ids


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--models", default="models")
    ap.add_argument("--tokens", type=int, default=48)
    a = ap.parse_args()
    from transformers import AutoModelForCausalLM, AutoTokenizer
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    tok = AutoTokenizer.from_pretrained(os.path.join(a.models, "demo-code"))
    fns = {}
    for name in ("demo-code", "demo-code-draft"):
        m = AutoModelForCausalLM.from_pretrained(os.path.join(a.models, name), dtype=torch.float32).to(dev).eval()
        fns[name] = (lambda mm: (lambda x: mm(input_ids=x).logits))(m)
    lm = lckv.load(os.path.join(a.models, "demo-code-lckv"), torch.float32, dev)
    fns["demo-code-lckv (sequential exact)"] = lm.forward_sequential
    for p in PROMPTS:
        ids = torch.tensor([tok(p)["input_ids"]], device=dev)
        assert tok.decode(ids[0, 1:].tolist()) == p
        print("=" * 100 + f"\nPROMPT ({ids.shape[1]} tokens):\n{p}", flush=True)
        for name, fn in fns.items():
            out = greedy(fn, ids, a.tokens)[0, ids.shape[1]:].tolist()
            print(f"--- {name}:\n{tok.decode(out)}", flush=True)


if __name__ == "__main__":
    main()
