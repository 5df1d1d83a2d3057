#!/usr/bin/env python3
"""Predicted speculative speedup for a pair that exists only as a cost model (issue 18).

    python3 tools/bench/predict_speedup.py --cost COST.json --acceptance ACC.json

COST.json and ACC.json are `condensa bench --speculative ... --json` outputs. COST comes from a model whose weights do not
matter (the 1.1B shape with random weights: its draft and verify milliseconds per round and its plain decode tok/s are
real, its acceptance is not); ACC from a trained pair (the demo models: acceptance is real, times are not the 1.1B's).
For each (mode, batch, prompt tokens) in both, a round of the COST run is taken to cost what it measured, and to yield
what the trained pair accepts:

    tokens per row-round = 1 + the trained pair's accepted drafts per round
    predicted tok/s      = rows per round * tokens per row-round / (draft ms + verify ms) * 1000
                           (rows per round: COST's rows_per_round, else the batch; rows that accepted more finish first)
    predicted speedup    = predicted tok/s / COST's plain tok/s at that batch and prompt

This holds when both runs draft the same proposal: pin it in both (--gamma N, --tree-size N --tree-depth D), since an
adaptive γ follows each model's own acceptance. Given the same file twice it reproduces every row's measured speedup up
to the loop's time outside drafting and verifying (--self-check: within 15 %).
"""
import argparse
import json


def rows(path):
    return {(r["mode"], r["batch"], r["prompt_tokens"]): r for r in json.load(open(path))["rows"]}


def predicted(cost, accept, plain_rate):
    ms = cost["draft_ms_per_round"] + cost["verify_ms_per_round"]
    if ms <= 0 or plain_rate <= 0:
        return None
    rows_per_round = cost.get("rows_per_round") or cost["batch"]
    return rows_per_round * (1 + accept["accepted_per_round"]) / ms * 1000 / plain_rate


def table(cost_path, accept_path):
    cost, accept = rows(cost_path), rows(accept_path)
    lines = ["| mode | batch | prompt tokens | measured speedup (cost run) | predicted speedup | trained acceptance |",
             "|---|---:|---:|---:|---:|---:|"]
    for key, c in sorted(cost.items(), key=lambda kv: (kv[0][2], kv[0][1], kv[0][0])):
        mode, batch, prompt = key
        plain = cost.get(("none", batch, prompt))
        if mode == "none" or plain is None or key not in accept:
            continue
        p = predicted(c, accept[key], plain["decode_tokens_per_second"])
        lines.append(f"| {mode} | {batch} | {prompt} | {c['speedup']:.2f}x | {'-' if p is None else f'{p:.2f}x'} | "
                     f"{accept[key]['acceptance_rate'] * 100:.1f} % |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cost", required=True, help="bench JSON of the model whose step times count")
    parser.add_argument("--acceptance", required=True, help="bench JSON of the trained pair whose acceptance counts")
    parser.add_argument("--self-check", action="store_true", help="fail unless the rows of --cost predict their own speedup within 15 %%")
    args = parser.parse_args()
    print(table(args.cost, args.acceptance))
    if args.self_check:
        cost = rows(args.cost)
        for key, c in cost.items():
            plain = cost.get(("none", key[1], key[2]))
            if key[0] == "none" or plain is None:
                continue
            p = predicted(c, c, plain["decode_tokens_per_second"])
            if p is not None and abs(p - c["speedup"]) > 0.15 * c["speedup"]:
                raise SystemExit(f"self-check: {key} predicts {p:.3f}x but measured {c['speedup']:.3f}x")
        print("self-check: every row reproduces its measured speedup within 15 %")


if __name__ == "__main__":
    main()
