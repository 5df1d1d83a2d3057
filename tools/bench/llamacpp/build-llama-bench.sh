#!/usr/bin/env bash
# Builds llama.cpp's own benchmark tool, llama-bench, against the prebuilt llama.cpp libraries that node-llama-cpp
# ships (@node-llama-cpp/linux-x64), from the llama.cpp source node-llama-cpp bundles (llama/gitRelease.bundle, a git
# bundle of the exact release it was built from). No GitHub access, no cmake: two source files and g++.
#
#   tools/bench/llamacpp/build-llama-bench.sh [PEER_DIR=/tmp/llamapeer] [OUT_DIR=PEER_DIR/llama-bench]
set -euo pipefail
peer=${1:-/tmp/llamapeer}
out=${2:-$peer/llama-bench}
bins=$peer/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64
bundle=$peer/node_modules/node-llama-cpp/llama/gitRelease.bundle
src=$out/src
mkdir -p "$out"
if [ ! -d "$src/.git" ]; then
  git init -q "$src"
  git -C "$src" fetch -q "$bundle" HEAD
  git -C "$src" checkout -q FETCH_HEAD
fi
# node-llama-cpp builds with its patches (llama/patches); they change the library, not llama-bench or the headers,
# and the libraries used are node-llama-cpp's own prebuilt ones.
cd "$src"
g++ -O2 -DNDEBUG -std=c++17 -I include -I common -I ggml/include -I vendor \
  tools/llama-bench/llama-bench.cpp tools/llama-bench/main.cpp -o "$out/llama-bench" \
  -L"$bins" -l:libllama-common.so -l:libllama.v0.5.0.so -l:libggml.v0.5.0.so -l:libggml-base.so \
  -Wl,-rpath,"$bins" -pthread
# ggml finds its CPU backend variants (libggml-cpu-*.so) next to the executable or in the working directory:
# run it from $bins (bench-peer.mjs does).
(cd "$bins" && "$out/llama-bench" --version)
echo "built $out/llama-bench (llama.cpp source $(git -C "$src" rev-parse --short HEAD) from $bundle)"
