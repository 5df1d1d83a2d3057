"""Nsight Compute's kernel times (ncu --csv --page raw --metrics gpu__time_duration.sum) summed per kernel name.
usage: python3 ncu_by_kernel.py NCU.csv   (prints the 40 kernels with the most time: total ms, calls, us per call)"""
import collections, csv, sys

rows = list(csv.reader(open(sys.argv[1])))
head = next(i for i, r in enumerate(rows) if "Kernel Name" in r)
name_col, time_col = rows[head].index("Kernel Name"), rows[head].index("gpu__time_duration.sum")
total, count = collections.Counter(), collections.Counter()
for row in rows[head + 1:]:
    try:
        ns = float(row[time_col].replace(",", ""))   # ncu writes thousands separators; the units row is not a number
    except (IndexError, ValueError):
        continue
    name = row[name_col].split("(")[0][-110:]
    total[name] += ns
    count[name] += 1
print(f"{sum(count.values())} kernels, {sum(total.values()) / 1e6:.1f} ms in all")
print(f"{'total ms':>10} {'calls':>6} {'us/call':>9}  kernel")
for name, ns in total.most_common(40):
    print(f"{ns / 1e6:10.3f} {count[name]:6d} {ns / count[name] / 1e3:9.1f}  {name}")
