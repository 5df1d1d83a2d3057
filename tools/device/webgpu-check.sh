#!/usr/bin/env bash
# WebGPU still gives the CPU's tokens (run on the GPU machine after pack-webgpu.sh's two calls): demo-code, 64 greedy
# tokens on the CPU provider, on WebGPU with the KV cache on the device and in host memory, and a ragged batch of 8
# through extract; then a short decode bench on WebGPU. Everything under $OUT/webgpu; the summary on stdout.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd); o=${OUT:?set OUT}/webgpu; m=$root/.gpuB/demo-code
mkdir -p "$o"; export CONDENSA_CACHE=/tmp/wgcache
c="bash $root/.gpuB/run.sh"
p='def fibonacci(n):'
for v in "cpu:--provider cpu" "webgpu:--provider webgpu" "webgpu-hostkv:--provider webgpu --kv-residence host"; do
  timeout 300 $c generate --model "$m" --prompt "$p" --max-tokens 64 --temperature 0 --json ${v#*:} > "$o/g-${v%%:*}.out" 2> "$o/g-${v%%:*}.err"
  echo "g-${v%%:*}: rc $?"; tail -2 "$o/g-${v%%:*}.err"
done
python3 "$root/tools/device/cuda/first_diff.py" "$o" g-cpu g-webgpu g-webgpu-hostkv
python3 - "$root" > "$o/docs.jsonl" <<'PY'
import json, sys, pathlib
files = sorted(pathlib.Path(sys.argv[1], "src/Runtime").rglob("*.cs"))[:8]
for i, f in enumerate(files):
    print(json.dumps({"id": f"doc{i}", "text": f.read_text()[: 200 + 150 * i]}))
PY
printf '%s' '{{text}}' > "$o/template.txt"
for v in cpu webgpu; do
  timeout 300 $c extract --model "$m" --input "$o/docs.jsonl" --prompt-template "$o/template.txt" --output "$o/x-$v.jsonl" --batch 8 \
    --max-tokens 48 --temperature 0 --provider $v > "$o/x-$v.out" 2> "$o/x-$v.err"; echo "x-$v: rc $?"
done
python3 -c "import json,sys; a,b=[{r['id']:r.get('text') for r in map(json.loads,open(f))} for f in sys.argv[1:]]; print(f'x-webgpu: {sum(a[k]==b.get(k) for k in a)} of {len(a)} records equal to x-cpu')" \
  "$o/x-cpu.jsonl" "$o/x-webgpu.jsonl"
timeout 300 $c bench --provider webgpu -m "$m" --batch 1,8 --context 512 --runs 3 --no-bandwidth > "$o/bench.out" 2> "$o/bench.err"
grep -E '^\|' "$o/bench.out"; grep -iE 'provider|error' "$o/bench.err" | head -3
