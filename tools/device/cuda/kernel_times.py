"""Kernel times of forward passes from Nsight Compute (`ncu --csv --page raw --metrics gpu__time_duration.sum`, one row per
kernel launch): the kernels are cut into passes at the one GatherND each pass launches (the logits_index pick), so each
segment holds one whole pass (rotated: its lm_head, Cast and ArgMax, then the next pass up to its final norm). Prints
every segment's kernel count and summed time, then, for the segments whose kernel count is the most common one (the
decode steps), the median step's time per kernel name: what a step costs on the GPU with no launch gaps.
usage: python3 kernel_times.py NCU.csv [LABEL]"""
import collections, csv, statistics, sys

lines = [line for line in open(sys.argv[1], newline="") if not line.startswith("==")]   # ncu's own messages come first
table = list(csv.DictReader(lines))
rows = [r for r in table if r.get("ID", "").isdigit()]
label = sys.argv[2] if len(sys.argv) > 2 else sys.argv[1]
kernels = [(r["Kernel Name"], float(r["gpu__time_duration.sum"].replace(",", ""))) for r in rows]   # "2,048": thousands separators
unit = next((r["gpu__time_duration.sum"] for r in table if not r.get("ID", "").isdigit()), "?")
cuts = [i for i, (name, _) in enumerate(kernels) if "GatherND" in name]
segments = [kernels[a:b] for a, b in zip(cuts, cuts[1:])]
print(f"{label}: {len(kernels)} kernels, {len(segments)} whole passes, time unit {unit}")
for i, seg in enumerate(segments):
    print(f"  pass {i}: {len(seg)} kernels, {sum(t for _, t in seg):.1f}")
if not segments:
    sys.exit(0)
common = collections.Counter(len(s) for s in segments).most_common(1)[0][0]
steps = [s for s in segments if len(s) == common]
totals = [sum(t for _, t in s) for s in steps]
median = steps[totals.index(sorted(totals)[len(totals) // 2])]
print(f"{label}: {len(steps)} passes of {common} kernels; summed kernel time per pass median {statistics.median(totals):.1f}, "
      f"min {min(totals):.1f}, max {max(totals):.1f}")
by_name = collections.defaultdict(lambda: [0, 0.0])
for name, t in median:
    short = name.split("(")[0][:90]
    by_name[short][0] += 1
    by_name[short][1] += t
total = sum(t for _, t in median)
for name, (n, t) in sorted(by_name.items(), key=lambda kv: -kv[1][1]):
    print(f"  {t:10.1f} {100 * t / total:5.1f} % {n:4d}x  {name}")
