# summarize.py LOG:RESDIR ...: for ab.sh logs and their res/ folders, per configuration: the median documents/s
# over every run, the pooled per-record latency (elapsed_ms of every record of every run: min / p50 / p99 / max), and
# whether every output holds the same texts as the first batch-1 run of its --max-tokens.
import collections, glob, json, re, statistics, sys
rate = collections.defaultdict(list); load = collections.defaultdict(list); files = collections.defaultdict(list)
for arg in sys.argv[1:]:
    log, res = arg.split(":")
    for line in open(log):
        m = re.match(r"(\w+) mt(\d+) b(\d+) (\w+) r(\d+) \| load ([\d.]+) \| ([\d.]+) documents/s", line)
        if not m: continue
        key = (m[2], m[3], m[4], m[1]); rate[key].append(float(m[7])); load[key].append(float(m[6]))
        files[key].append(f"{res}/{m[1]}/mt{m[2]}-b{m[3]}-{m[4]}-r{m[5]}.jsonl")
def texts(path): return {json.loads(l)["id"]: json.loads(l)["text"] for l in open(path) if l.strip()}
ref = {mt: texts(files[(mt, "1", "none", "before")][0]) for mt in ("8", "64") if (mt, "1", "none", "before") in files}
for key in sorted(rate, key=lambda k: (int(k[0]), int(k[1]), k[2], k[3] == "after")):
    mt, b, s, label = key
    ms = sorted(json.loads(l)["elapsed_ms"] for f in files[key] for l in open(f) if l.strip())
    q = lambda p: ms[min(len(ms) - 1, round(p * (len(ms) - 1)))]
    same = all(texts(f) == ref[mt] for f in files[key])
    print(f"mt{mt:>2} b{b:>2} {s:6} {label:6} | median {statistics.median(rate[key]):5.1f} docs/s of {len(rate[key])} runs "
          f"({min(rate[key]):.1f}-{max(rate[key]):.1f}) | load {min(load[key]):.1f}-{max(load[key]):.1f} | "
          f"ms min {ms[0]:.0f} p50 {q(.5):.0f} p99 {q(.99):.0f} max {ms[-1]:.0f} | same texts {same}")
