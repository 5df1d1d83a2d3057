"""Summarises ONNX Runtime profiles (CONDENSA_ORT_PROFILE=PREFIX: PREFIX_*.json, Chrome traces) of decode steps:
per file, the runs, the node events per run (0 for a replayed CUDA graph) and run times, and the kernel time per
operator type over the last runs, so the share of a step each kind of node takes is visible; and the runs grouped by
duration (a gap of 1.5x starts a group, groups of 3 runs or more), which tells a speculative round's draft passes,
verifications and plain steps apart in a session that runs all three.
usage: python3 profile_summary.py FOLDER"""
import bisect, collections, glob, json, sys

from gap_groups import gap_groups

for f in sorted(glob.glob(sys.argv[1] + "/*.json")):
    events = json.load(open(f))
    runs = sorted((e["ts"], e["ts"] + e["dur"]) for e in events if e.get("name") == "model_run")
    nodes = sorted((e["ts"], e) for e in events if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"))
    if not runs:
        continue
    starts = [t for t, _ in nodes]
    per_run = [bisect.bisect_right(starts, b) - bisect.bisect_left(starts, a) for a, b in runs]
    print(f"{f.split('/')[-1]}: {len(runs)} runs; node events per run (last 10): {per_run[-10:]}; "
          f"run us (last 10): {[round(b - a) for a, b in runs[-10:]]}")
    for group in gap_groups([b - a for a, b in runs], lambda d: d):
        print(f"   {len(group):6d} runs of {group[0]:.0f}-{group[-1]:.0f} us, median {group[len(group) // 2]:.0f} us")
    # the last 4 runs with node events: time per operator type and provider, per run
    timed = [(a, b) for (a, b), n in zip(runs, per_run) if n > 0][-4:]
    if not timed:
        continue
    per_op = collections.Counter(); count = collections.Counter()
    for a, b in timed:
        for t, e in nodes[bisect.bisect_left(starts, a):bisect.bisect_right(starts, b)]:
            key = (e["args"].get("provider", "?"), e["args"].get("op_name", "?"))
            per_op[key] += e["dur"] / len(timed); count[key] += 1 / len(timed)
    total = sum(per_op.values()); wall = sum(b - a for a, b in timed) / len(timed)
    print(f"   kernel time per run {total:.0f} us of {wall:.0f} us wall; {sum(count.values()):.0f} nodes per run")
    for (provider, op), us in per_op.most_common(12):
        print(f"   {provider:>24} {op:<34} {count[(provider, op)]:5.0f} nodes {us:8.0f} us {100 * us / max(total, 1):5.1f} %")
