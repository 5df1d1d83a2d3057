#!/usr/bin/env bash
# llama.cpp as the H200 peer of condensa's WebGPU rows: node-llama-cpp's prebuilt Vulkan build of llama.cpp (npm
# @node-llama-cpp/linux-x64-vulkan 3.22.1, the release the CPU peer uses) with llama-bench and llama-batched-bench
# built here from the source node-llama-cpp bundles, run on the GPU machine through the same NVIDIA Vulkan driver
# that ONNX Runtime's WebGPU provider (Dawn) uses there. The GGUFs are written on the device by make_gguf.py (no
# Node.js there; 2.2 GB does not travel).
#   here, after tools/bench/llamacpp/README.md steps 1-2 (/tmp/llamapeer with the llama.cpp source):
#       bash tools/device/llamacpp-vulkan-peer.sh pack [PEER_DIR=/tmp/llamapeer]        -> .gpuC/vk.tar.xz
#   on the device, after pack-webgpu.sh's two calls and webgpu-suite.sh (its /tmp/r exports and $OUT/hbm.txt):
#       carry [".gpuC"]: bash tools/device/llamacpp-vulkan-peer.sh run [ROUNDS=3]           -> $OUT/peer.tgz
set -euo pipefail
case "${1:-}" in
pack)
  top=$(git rev-parse --show-toplevel); peer=${2:-/tmp/llamapeer}; src=$peer/llama-bench/src
  [ -d "$src" ] || { echo "no llama.cpp source at $src: run tools/bench/llamacpp/build-llama-bench.sh first" >&2; exit 1; }
  grep -qxF "/.gpuC/" "$top/.git/info/exclude" 2>/dev/null || echo "/.gpuC/" >> "$top/.git/info/exclude"
  work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack @node-llama-cpp/linux-x64-vulkan@3.22.1 >/dev/null 2>&1 && tar xzf node-llama-cpp-linux-x64-vulkan-3.22.1.tgz)
  bins=$work/package/bins/linux-x64-vulkan; mkdir -p "$work/vk"
  # the Vulkan backend, the base libraries and the CPU variants a server CPU would pick (ggml loads one at run time)
  cp "$bins"/{libggml-vulkan.so,libggml.vulkan.v0.5.0.so,libggml-base.so,libllama.vulkan.v0.5.0.so,libllama-common.so} "$work/vk/"
  cp "$bins"/libggml-cpu-{x64,haswell,skylakex,icelake,sapphirerapids,zen4}.so "$work/vk/"
  for tool in llama-bench:tools/llama-bench batched-bench:tools/batched-bench; do
    name=${tool%%:*}; dir=$src/${tool#*:}; [ "$name" = batched-bench ] && name=llama-batched-bench
    g++ -O2 -DNDEBUG -std=c++17 -I "$src/include" -I "$src/common" -I "$src/ggml/include" -I "$src/vendor" \
      "$dir"/*.cpp -o "$work/vk/$name" -L"$work/vk" -l:libllama-common.so -l:libllama.vulkan.v0.5.0.so \
      -l:libggml.vulkan.v0.5.0.so -l:libggml-base.so -Wl,-rpath,'$ORIGIN' -pthread
  done
  mkdir -p "$top/.gpuC" && tar cf - -C "$work/vk" . | xz -T0 -9e > "$top/.gpuC/vk.tar.xz"
  ls -l "$top/.gpuC" ;;
run)
  out=${OUT:?set OUT}; rounds=${2:-3}; here=$(cd "$(dirname "$0")/../.." && pwd)
  mkdir -p /opt/vk /tmp/g "$out/peer" && tar xJf "$here/.gpuC/vk.tar.xz" -C /opt/vk
  . "$here/tools/device/webgpu-env.sh"; export CONDENSA_CACHE=/tmp/condensa-cache
  for t in f16 q4_0; do [ -f /tmp/g/$t.gguf ] || python3 "$here/tools/bench/llamacpp/make_gguf.py" --type $t --out /tmp/g/$t.gguf; done
  bw=$(tail -1 "$out/hbm.txt" 2>/dev/null || echo 4365)
  p=$out/peer; log() { echo "== $(date +%T) $*" | tee -a "$p/log.txt"; }
  # the app pack-webgpu.sh's run.sh installed into /opt/cg (.gpuB need not travel again)
  condensa() { log "condensa $1"; condensa_app app bench -m /tmp/r/fp16 -m /tmp/r/int4 --provider webgpu --batch 1,32 \
      --context 512 --runs 3 --decode-steps 16 --prefill-tokens 64 --bandwidth "$bw" --json "$p/condensa-$1.json" > "$p/condensa-$1.md" 2>> "$p/stderr.txt"; }
  llama() { log "llama-bench $1"; (cd /opt/vk && ./llama-bench -m /tmp/g/f16.gguf -m /tmp/g/q4_0.gguf -p 0 -n 16 -d 512 -ngl 99 -r 3 \
      -o jsonl > "$p/llama-bench-$1.jsonl" 2>> "$p/stderr.txt"); }
  batched() { log "llama-batched-bench $1"; for t in f16 q4_0; do (cd /opt/vk && ./llama-batched-bench -m /tmp/g/$t.gguf -c 17408 \
      -b 2048 -ub 512 -npp 512 -ntg 16 -npl 1,32 -ngl 99 > "$p/batched-$t-$1.txt" 2>> "$p/stderr.txt"); done; }
  for r in $(seq "$rounds"); do
    case $((r % 3)) in 1) condensa $r; llama $r; batched $r ;; 2) llama $r; batched $r; condensa $r ;; 0) batched $r; condensa $r; llama $r ;; esac
  done
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv > "$p/gpu.txt" 2>&1 || true
  (cd "$out" && tar czf peer.tgz peer && rm -rf peer) ;;
*) echo "usage: $0 pack [PEER_DIR] | run [ROUNDS]" >&2; exit 2 ;;
esac
