#!/usr/bin/env bash
# The H200 measurements of docs/benchmarks.md (WebGPU provider, device-resident KV), run on the GPU machine after the
# two calls of pack-webgpu.sh installed the bundle: bash tools/device/webgpu-suite.sh [quick]
# Writes every output under $OUT. "quick" skips the 1.1B shape.
set -uo pipefail
out=${OUT:?set OUT}; c="bash .gpuB/run.sh"
export CONDENSA_CACHE=/tmp/condensa-cache
log() { echo "== $*" >> "$out/log.txt"; echo "== $*" >&2; }
run() { log "$*"; "$@" 2>>"$out/stderr.txt"; echo "exit $?" >> "$out/log.txt"; }

# 1) HBM read bandwidth, measured with torch (best of 5 sums over 8 GiB), for the bound column.
python3 - > "$out/hbm.txt" 2>&1 <<'PY'
import torch, time
x = torch.ones(8 << 28, dtype=torch.float32, device="cuda")   # 8 GiB
best = 0.0
for _ in range(6):
    torch.cuda.synchronize(); t = time.perf_counter(); s = x.sum(); torch.cuda.synchronize()
    best = max(best, x.numel() * 4 / (time.perf_counter() - t) / 1e9)
print(f"{best:.0f}")
PY
bw=$(tail -1 "$out/hbm.txt"); log "HBM read GB/s: $bw"

# 2) demo-code: greedy tokens on WebGPU (device KV, host KV) against the CPU provider.
p='def fibonacci(n):'
run $c generate -m demo-code --prompt "$p" --max-tokens 64 --json --provider cpu > "$out/gen-cpu.json"
run $c generate -m demo-code --prompt "$p" --max-tokens 64 --json --provider webgpu > "$out/gen-webgpu.json"
run $c generate -m demo-code --prompt "$p" --max-tokens 64 --json --provider webgpu --kv-residence host > "$out/gen-webgpu-hostkv.json"

# 3) demo-code decode speed on WebGPU: device-resident KV against host KV (the first run's baseline).
for kv in device host; do
  run $c bench -m demo-code --provider webgpu --kv-residence $kv --batch 1,16 --context 512,1536 --runs 3 --decode-steps 16 \
    --prefill-tokens 256 --bandwidth "$bw" --json "$out/bench-demo-$kv.json" > "$out/bench-demo-$kv.md"
done
# ONNX Runtime's per-node profile of 8 decode steps (which nodes run where, and for how long).
mkdir -p "$out/profile"
CONDENSA_ORT_PROFILE="$out/profile/demo" run $c generate -m demo-code --prompt "$p" --max-tokens 8 --provider webgpu > /dev/null
[ "${1:-}" = quick ] && exit 0

# 4) TinyLlama-1.1B shape, random weights from seed 0: fp16, int4 (k, v, lm_head at 8 bits) and pure int4 on WebGPU at
#    batch 1, 16, 32.
run $c export --random --shape tinyllama-1.1b --checkpoint /tmp/r/ckpt --out /tmp/r/fp16 --precision fp16
run $c export --checkpoint /tmp/r/ckpt --out /tmp/r/int4 --precision int4
run $c export --checkpoint /tmp/r/ckpt --out /tmp/r/int4-none --precision int4 --int4-mix none
run $c bench -m /tmp/r/fp16 -m /tmp/r/int4 -m /tmp/r/int4-none --provider webgpu --batch 1,16,32 --context 512,1900 --runs 3 --decode-steps 16 \
  --prefill-tokens 256 --bandwidth "$bw" --json "$out/bench-1b.json" --chart "$out/bench-1b.svg" > "$out/bench-1b.md"
CONDENSA_ORT_PROFILE="$out/profile/fp16" run $c bench -m /tmp/r/fp16 --provider webgpu --batch 1 --context 512 --runs 1 \
  --decode-steps 8 --prefill-tokens 16 --bandwidth "$bw" > /dev/null
cd "$out/profile" && for f in *.json; do xz -9 "$f"; done
