#!/usr/bin/env bash
# Device call 2 (carry [".cuda/c"], within 30 s of install.sh): stages libonnxruntime.so for suite.sh, then the peers on
# the same shape and card:
#   transformers (a random LlamaForCausalLM at TinyLlama-1.1B's shape, fp16, sdpa, generate() greedy: hf_peer.py) and
#   llama.cpp's CUDA build (npm @node-llama-cpp/linux-x64-cuda 3.22.1; its sm_90 PTX compiled by the driver at first
#   use): llama-bench at batch 1 (pp512, tg32 at depth 512 / 2048 / 8192) and llama-batched-bench at 1 and 32
#   sequences, on the F16 and Q4_0 GGUFs install.sh wrote. -> $OUT/peers.tgz
set -uo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd); c=$root/.cuda/c; out=${OUT:?set OUT}; o=/tmp/pout; rm -rf $o; mkdir -p $o /opt/lc
finish() { (cd /tmp && tar czf "$out/peers.tgz" pout); }; trap finish EXIT
log() { echo "== $(date +%T) $*" | tee -a $o/log.txt; }
tar xJf "$c/lc.tar.xz" -C /opt/lc; [ -f /opt/cc/env.sh ] && . /opt/cc/env.sh
cp "$c/ort_main.so.xz" "$c/libonnxruntime_providers_shared.so" /opt/cc/   # for suite.sh (call 3)
[ -d "$c/demo-code-lckv" ] && rm -rf /opt/cc/demo-code-lckv && cp -r "$c/demo-code-lckv" /opt/cc/   # suite.sh copies it beside demo-code
[ "${STAGE_ONLY:-0}" = 1 ] && { log "staged libonnxruntime.so only"; exit 0; }   # a second round of suite.sh needs no peers
export CUDA_CACHE_PATH=/tmp/nvcache CUDA_CACHE_MAXSIZE=4294967296
log "transformers"; timeout 200 python3 "$root/tools/device/cuda/hf_peer.py" > $o/hf.txt 2> $o/hf.err; log "rc $?"; cat $o/hf.txt; tail -2 $o/hf.err
for i in $(seq 120); do [ "$(wc -l < /tmp/g/done 2>/dev/null)" = 2 ] && break; sleep 2; done
log "ggufs: $(cat /tmp/g/done 2>/dev/null | tr '\n' ' ') $(ls -la /tmp/g/*.gguf 2>/dev/null | awk '{print $5}' | tr '\n' ' ')"
cd /opt/lc
log "llama-bench"; timeout 240 ./llama-bench -m /tmp/g/f16.gguf -m /tmp/g/q4_0.gguf -p 512 -n 32 -d 512,2048,8192 -ngl 99 -r 3 -o md \
  > $o/llama-bench.md 2> $o/llama-bench.err; log "rc $?"; cat $o/llama-bench.md; tail -3 $o/llama-bench.err
log "batched f16"; timeout 150 ./llama-batched-bench -m /tmp/g/f16.gguf -c 270000 -b 2048 -ub 512 -npp 512,2048,8192 -ntg 32 -npl 1,32 -ngl 99 \
  > $o/batched-f16.txt 2> $o/batched.err; log "rc $?"; grep -E '^\|' $o/batched-f16.txt
grep -iE 'error|ggml_cuda_init|device 0' $o/batched.err | sort -u | head -5
