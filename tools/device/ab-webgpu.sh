#!/usr/bin/env bash
# A/B of two builds of the CLI on the H200 (WebGPU provider): an older commit's app against this tree's, same ONNX
# Runtime, same machine session, alternating rounds. Used for the fused rotary/norm graph (exporter 3 vs 4).
#   here, after tools/device/pack-webgpu.sh:   bash tools/device/ab-webgpu.sh pack OLD_COMMIT   (adds .gpuB/app-old.tar.xz)
#   on the device, after webgpu-suite.sh ran in the same machine session (it made /tmp/r/ckpt and $OUT/hbm.txt):
#                                              bash tools/device/ab-webgpu.sh run
set -euo pipefail
case "${1:-}" in
pack)
  old=${2:?old commit}; top=$(git rev-parse --show-toplevel); shared=${SHARED:-$top/../shared}
  work=$(mktemp -d); trap 'git -C "$top" worktree remove --force "$work/src" >/dev/null 2>&1; rm -rf "$work"' EXIT
  git -C "$top" worktree add --detach "$work/src" "$old" >/dev/null
  dotnet publish "$work/src/src/Cli" -c Release -r linux-x64 --self-contained false -o "$work/app" >/dev/null
  inc=$(ls -d ~/.nuget/packages/microsoft.ml.onnxruntime/1.31.*/build/native/include | tail -1)
  rm -f "$work/app/libonnxruntime.so" "$work/app/libonnxruntime_providers_shared.so"
  gcc -O2 -shared -fPIC -I "$inc" "$shared/gpu/ortshim.c" -o "$work/app/libonnxruntime.so" -ldl
  tar cf - -C "$work/app" . | xz -T0 -9e > "$top/.gpuB/app-old.tar.xz" ;;
run)
  out=${OUT:?set OUT}; b=$(cd "$(dirname "$0")/../.." && pwd)/.gpuB
  mkdir -p /opt/cg/app-old && tar xJf "$b/app-old.tar.xz" -C /opt/cg/app-old
  . "$(dirname "$0")/webgpu-env.sh"; export CONDENSA_CACHE=/tmp/condensa-cache
  declare -A folder=([old]=app-old [new]=app)
  app() { condensa_app "${folder[$1]}" "${@:2}"; }
  bw=$(tail -1 "$out/hbm.txt")
  app old export --checkpoint /tmp/r/ckpt --out /tmp/r/fp16-old --precision fp16 > /dev/null
  declare -A fp16=([old]=/tmp/r/fp16-old [new]=/tmp/r/fp16)
  for round in 1 2; do
    for v in old new; do
      app $v bench -m demo-code --provider webgpu --batch 1,16 --context 512,1536 --runs 3 --decode-steps 16 --prefill-tokens 64 \
        --bandwidth "$bw" > "$out/ab-demo-$v-$round.md"
      app $v bench -m "${fp16[$v]}" --provider webgpu --batch 1,32 --context 512 --runs 3 --decode-steps 16 --prefill-tokens 64 \
        --bandwidth "$bw" > "$out/ab-1b-$v-$round.md"
    done
  done
  # nodes per decode step: ONNX Runtime's profile of a short generation (the largest profile file is the model's)
  for v in old new; do
    mkdir -p "/tmp/prof-$v"
    CONDENSA_ORT_PROFILE="/tmp/prof-$v/p" app $v generate -m demo-code --prompt "def f(x):" --max-tokens 4 --provider webgpu > /dev/null
    python3 - "/tmp/prof-$v" "$v" >> "$out/ab-nodes.txt" <<'PY'
import bisect, collections, glob, json, os, sys
ev = json.load(open(max(glob.glob(sys.argv[1] + "/*.json"), key=os.path.getsize)))
starts = [e["ts"] for e in ev if e.get("name") == "model_run"]
ops = collections.Counter(e["args"].get("op_name") for e in ev if e.get("cat") == "Node" and e["name"].endswith("_kernel_time")
                          and bisect.bisect_right(starts, e["ts"]) == len(starts))
print(sys.argv[2], "demo-code nodes in the last decode step:", sum(ops.values()), dict(ops.most_common()))
PY
  done
  (cd "$out" && tar czf ab.tgz ab-*.md ab-nodes.txt && rm -f ab-*.md ab-nodes.txt) ;;
*) echo "usage: $0 pack OLD_COMMIT | run" >&2; exit 2 ;;
esac
