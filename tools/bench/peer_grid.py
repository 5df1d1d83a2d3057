#!/usr/bin/env python3
"""Plain decoding's tok/s over one grid, three runtimes side by side, from one QUICK=74 results folder
(tools/device/cuda/suite.sh): condensa bench's plain-fp32.json / plain-fp16.json, llama.cpp's llama-batched-bench tables
(llama-f32.out / llama-f16.out, decode tok/s is its S_TG column) and hf_grid_peer.py's table (hf-grid.out).

    python3 tools/bench/peer_grid.py tools/bench/results/cuda-h100/round37/b-peers-warm
"""
import json
import os
import sys


def table_rows(path, columns):
    """The data rows of a markdown table with this many columns, as lists of stripped cells."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) == columns and cells[1].replace(",", "").isdigit():
                yield cells


def condensa(folder, precision):
    with open(os.path.join(folder, f"plain-{precision}.json"), encoding="utf-8") as f:
        return {(r["batch"], r["prompt_tokens"]): r["decode_tokens_per_second"] for r in json.load(f)["rows"]}


def llama(folder, gguf_type):   # | PP | TG | B | N_KV | T_PP s | S_PP t/s | T_TG s | S_TG t/s | T s | S t/s |
    return {(int(c[2]), int(c[0])): float(c[7]) for c in table_rows(os.path.join(folder, f"llama-{gguf_type}.out"), 10)}


def transformers(folder):   # | dtype | batch | prompt tokens | decode tok/s | ms a step |
    return {(c[0], int(c[1]), int(c[2])): float(c[3]) for c in table_rows(os.path.join(folder, "hf-grid.out"), 5)}


def main(folder):
    hf = transformers(folder)
    for precision, gguf_type, dtype in (("fp32", "f32", "float32"), ("fp16", "f16", "float16")):
        ours, theirs = condensa(folder, precision), llama(folder, gguf_type)
        print(f"\n| {precision}: batch x context | condensa tok/s | llama.cpp tok/s | transformers tok/s | vs llama.cpp | vs transformers |")
        print("|---|---:|---:|---:|---:|---:|")
        for batch, context in sorted(ours, key=lambda k: (k[1], k[0])):
            mine, lc, tf = ours[batch, context], theirs.get((batch, context)), hf.get((dtype, batch, context))
            ratio = lambda peer: f"{mine / peer:.2f}x" if peer else "-"
            print(f"| {batch} x {context:,} | {mine:,.0f} | {lc or 0:,.0f} | {tf or 0:,.0f} | {ratio(lc)} | {ratio(tf)} |")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
