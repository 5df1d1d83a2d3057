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

With --cost-trace and --acceptance-trace (the two runs' `bench --trace` files) it adds what a full batch would see, as a
batch that refills its rows keeps it (`extract`, `serve`, `bench --documents-per-row`): from the rounds in which every
row was decoding (run 1), the cost run's mean draft + verify ms and the trained pair's accepted drafts per row-round,

    full-batch speedup = batch * (1 + those accepted drafts) / (those ms) * 1000 / COST's plain tok/s

where the static-batch column above also counts the rounds of a draining batch (its slowest rows finishing alone).
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from trace_summary import ms, rounds_by_cell  # noqa: E402  (the trace reader beside this script)


def rows(path):
    return {(r["mode"], r["batch"], r["prompt_tokens"]): r for r in json.load(open(path))["rows"]}


def predicted(cost, accept, plain_rate):
    ms = cost["draft_ms_per_round"] + cost["verify_ms_per_round"]
    if ms <= 0 or plain_rate <= 0:
        return None
    rows_per_round = cost.get("rows_per_round") or cost["batch"]
    return rows_per_round * (1 + accept["accepted_per_round"]) / ms * 1000 / plain_rate


def full_batch(cost_rounds, accept_rounds, batch, plain_rate):
    """The full-batch prediction from the rounds that served every row, or None where either run had none."""
    cost_full = [r for r in cost_rounds if r["active_rows"] == batch]
    accept_full = [r for r in accept_rounds if r["active_rows"] == batch]
    if not cost_full or not accept_full or plain_rate <= 0:
        return None
    accepted = sum(r["accepted"] for r in accept_full) / sum(r["active_rows"] for r in accept_full)
    return batch * (1 + accepted) / (ms(cost_full) / len(cost_full)) * 1000 / plain_rate


def table(cost_path, accept_path, cost_trace=None, accept_trace=None):
    cost, accept = rows(cost_path), rows(accept_path)
    traced = cost_trace is not None and accept_trace is not None
    cost_rounds, accept_rounds = (rounds_by_cell(cost_trace, 1), rounds_by_cell(accept_trace, 1)) if traced else ({}, {})
    extra = " predicted, full batch |" if traced else ""
    lines = ["| mode | batch | prompt tokens | measured speedup (cost run) | predicted speedup | trained acceptance |" + extra,
             "|---|---:|---:|---:|---:|---:|" + ("---:|" if traced else "")]
    for key, c in sorted(cost.items(), key=lambda kv: (kv[0][2], kv[0][1], kv[0][0])):
        mode, batch, prompt = key
        plain = cost.get(("none", batch, prompt))
        if mode == "none" or plain is None or key not in accept:
            continue
        p = predicted(c, accept[key], plain["decode_tokens_per_second"])
        line = (f"| {mode} | {batch} | {prompt} | {c['speedup']:.2f}x | {'-' if p is None else f'{p:.2f}x'} | "
                f"{accept[key]['acceptance_rate'] * 100:.1f} % |")
        if traced:
            f = full_batch(cost_rounds.get(key, []), accept_rounds.get(key, []), batch, plain["decode_tokens_per_second"])
            line += f" {'-' if f is None else f'{f:.2f}x'} |"
        lines.append(line)
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cost", required=True, help="bench JSON of the model whose step times count")
    parser.add_argument("--acceptance", required=True, help="bench JSON of the trained pair whose acceptance counts")
    parser.add_argument("--cost-trace", help="--cost's bench --trace file: adds the full-batch prediction (with --acceptance-trace)")
    parser.add_argument("--acceptance-trace", help="--acceptance's bench --trace file")
    parser.add_argument("--self-check", action="store_true", help="fail unless the rows of --cost predict their own speedup within 15 %%")
    args = parser.parse_args()
    if (args.cost_trace is None) != (args.acceptance_trace is None):
        parser.error("--cost-trace and --acceptance-trace go together")
    print(table(args.cost, args.acceptance, args.cost_trace, args.acceptance_trace))
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
