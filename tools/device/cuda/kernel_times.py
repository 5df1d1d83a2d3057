"""Kernel times of forward passes from Nsight Compute (`ncu --csv --page raw --metrics gpu__time_duration.sum`, one row per
kernel launch): the kernels are cut into passes at the one GatherND each pass launches (the logits_index pick), so each
segment holds one whole pass (rotated: its lm_head, Cast and ArgMax, then the next pass up to its final norm). Prints
every segment's kernel count and summed time, then, for the segments whose kernel count is the most common one (the
decode steps), the median step's time per kernel name: what a step costs on the GPU with no launch gaps.
With --kinds, passes are grouped by kernel count and, within a count, by time (a gap of 1.5x starts a new group): a
speculative round's draft passes, verifications and plain steps apart, each group's median pass per kernel name.
usage: python3 kernel_times.py NCU.csv [LABEL] [--kinds]"""
import collections, csv, statistics, sys

from gap_groups import gap_groups

kinds = "--kinds" in sys.argv
args = [a for a in sys.argv[1:] if a != "--kinds"]
lines = [line for line in open(args[0], newline="") if not line.startswith("==")]   # ncu's own messages come first
table = list(csv.DictReader(lines))
rows = [r for r in table if r.get("ID", "").isdigit()]
label = args[1] if len(args) > 1 else args[0]
kernels = [(r["Kernel Name"], float(r["gpu__time_duration.sum"].replace(",", ""))) for r in rows]   # "2,048": thousands separators
unit = next((r["gpu__time_duration.sum"] for r in table if not r.get("ID", "").isdigit()), "?")
cuts = [i for i, (name, _) in enumerate(kernels) if "GatherND" in name]
segments = [kernels[a:b] for a, b in zip(cuts, cuts[1:])]
print(f"{label}: {len(kernels)} kernels, {len(segments)} whole passes, time unit {unit}")
if not segments:
    sys.exit(0)


def by_name(label, passes):
    """The median pass of `passes` (lists of (kernel, time)) per kernel name, most time first."""
    totals = [sum(t for _, t in s) for s in passes]
    median = passes[totals.index(sorted(totals)[len(totals) // 2])]
    print(f"{label}: {len(passes)} passes of {len(median)} kernels; summed kernel time per pass median "
          f"{statistics.median(totals):.1f}, min {min(totals):.1f}, max {max(totals):.1f}")
    names = collections.defaultdict(lambda: [0, 0.0])
    for name, t in median:
        short = name.split("(")[0][:90]
        names[short][0] += 1
        names[short][1] += t
    total = sum(t for _, t in median)
    for name, (n, t) in sorted(names.items(), key=lambda kv: -kv[1][1])[:14 if kinds else None]:
        print(f"  {t:10.1f} {100 * t / total:5.1f} % {n:4d}x  {name}")


if kinds:
    groups = collections.defaultdict(list)
    for seg in segments:
        groups[len(seg)].append(seg)
    for count, passes in sorted(groups.items()):
        for group in gap_groups(passes, lambda s: sum(t for _, t in s)):
            by_name(f"{label} {count} kernels", group)
    sys.exit(0)
for i, seg in enumerate(segments):
    print(f"  pass {i}: {len(seg)} kernels, {sum(t for _, t in seg):.1f}")
common = collections.Counter(len(s) for s in segments).most_common(1)[0][0]
by_name(label, [s for s in segments if len(s) == common])
