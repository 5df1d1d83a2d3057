#!/usr/bin/env python3
"""Summarises `condensa bench --speculative ... --trace FILE` (a .jsonl, .jsonl.gz or .jsonl.xz): per mode, batch and prompt
length of the timed run (run 1), the rounds, how many of them served every row and how many half the rows or fewer, with
the milliseconds of each (a static batch runs until its slowest row is done, and a round of a few rows costs a whole
pass: docs/benchmarks.md, round 16), the planner's choices in order as runs of γ ("0x16" = 16 plain
rounds), and per planned γ the mean verify ms, drafts accepted per row and the longest proposal.

With --bench JSON (the same run's `bench --json` file) it prints instead a table of each speculative cell's speed while
every row is decoding (tokens a millisecond of those rounds, against plain decoding's rate in that JSON) beside the whole
run's, and the share of the run's round time spent in rounds with rows missing (a static batch's after its first row
finished; with `bench --documents-per-row`, the final drain): what a batch that refills its rows (`condensa extract`,
`serve`) would see against what a static batch does.

usage: trace_summary.py TRACE [--run N] [--bench JSON]
"""
import argparse
import collections
import gzip
import itertools
import json
import lzma


def rounds_by_cell(path, run):
    cells = collections.defaultdict(list)
    opener = gzip.open if path.endswith(".gz") else lzma.open if path.endswith(".xz") else open
    with opener(path, "rt") as f:
        for number, line in enumerate(f, 1):
            try:
                d = json.loads(line)
            except json.JSONDecodeError:
                # A bench stopped part way (its time limit) leaves its last round half written.
                print(f"{path}: line {number} is not whole JSON; the rounds before it are summarised")
                break
            if d["run"] == run:
                cells[(d["mode"], d["batch"], d["prompt_tokens"])].append(d["measured"])
    return cells


def ms(rounds):
    """Milliseconds of drafting and verifying over the rounds."""
    return sum(r["draft_milliseconds"] + r["verify_milliseconds"] for r in rounds)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("trace")
    parser.add_argument("--run", type=int, default=1, help="run to summarise (0 is the warm-up)")
    parser.add_argument("--bench", help="the run's bench --json file: print the full-batch table")
    args = parser.parse_args()
    if args.bench:
        full_batch_table(rounds_by_cell(args.trace, args.run), args.bench)
        return
    for (mode, batch, prompt), rounds in sorted(rounds_by_cell(args.trace, args.run).items(), key=lambda c: (c[0][0], c[0][2], c[0][1])):
        full = [r for r in rounds if r["active_rows"] == batch]
        tail = [r for r in rounds if 2 * r["active_rows"] <= batch]
        choices = " ".join(f"{g}x{len(list(run))}" for g, run in itertools.groupby(r["planned_drafts"] for r in rounds))
        by_gamma = collections.defaultdict(list)
        for r in rounds:
            by_gamma[r["planned_drafts"]].append(r)
        costs = " ".join(
            f"γ{g}: {sum(r['verify_milliseconds'] for r in rs) / len(rs):.2f} ms, "
            f"{sum(r['accepted'] for r in rs) / max(1, sum(r['active_rows'] for r in rs)):.2f} acc, "
            f"{sum(r['longest_proposal'] for r in rs) / len(rs):.1f} longest;"
            for g, rs in sorted(by_gamma.items()))
        draft = sum(r["draft_milliseconds"] for r in rounds)
        verify = sum(r["verify_milliseconds"] for r in rounds)
        print(f"{mode} {batch} x {prompt}: {len(rounds)} rounds, draft {draft:.1f} + verify {verify:.1f} ms; {len(full)} with all "
              f"rows ({ms(full):.1f} ms), {len(tail)} with half or fewer ({ms(tail):.1f} ms)")
        print(f"  choices: {choices}")
        print(f"  per γ: {costs}")


def full_batch_table(cells, bench_path):
    rows = json.load(open(bench_path))["rows"]
    plain = {(r["batch"], r["prompt_tokens"]): r["decode_tokens_per_second"] for r in rows if r["mode"] == "none"}
    whole = {(r["mode"], r["batch"], r["prompt_tokens"]): r["speedup"] for r in rows if r["mode"] != "none"}
    print("| mode | batch x prompt | rounds with every row decoding | their tokens a ms vs plain | whole run vs plain | "
          "round time with rows missing |")
    print("|---|---|---:|---:|---:|---:|")
    for (mode, batch, prompt), rounds in sorted(cells.items(), key=lambda c: (c[0][0], c[0][2], c[0][1])):
        if (batch, prompt) not in plain or (mode, batch, prompt) not in whole:
            continue
        full = [r for r in rounds if r["active_rows"] == batch]
        tokens = sum(r["accepted"] + r["active_rows"] for r in full)   # each decoding row keeps its accepted drafts and one more
        rate = tokens / ms(full) * 1000 / plain[(batch, prompt)]
        print(f"| {mode} | {batch} x {prompt} | {len(full)} of {len(rounds)} | {rate:.2f}x | {whole[(mode, batch, prompt)]:.2f}x | "
              f"{1 - ms(full) / ms(rounds):.0%} |")


if __name__ == "__main__":
    main()
