#!/usr/bin/env bash
# After install.sh and peers.sh (STAGE_ONLY=1), carry [".cuda/b"]: the tiny transformers checkpoints of
# tests/TestData/golden exported as float16 and run on cuda, causal graph (auto) and general graph, captured: every
# architecture's graphs load and decode on the CUDA provider (GroupQueryAttention's softcap, local_window_size, partial
# rotary; the general graph's window masks). A smoke check: the logits are checked against transformers on the CPU.
set -uo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd); b=$root/.cuda/b; cc=/opt/cc; o=${OUT:?set OUT}/archs; mkdir -p $o
cat "$cc/ort_cuda.xz.1" "$b/ort_cuda.xz.2" | xz -d > "$cc/app/libonnxruntime_providers_cuda.so"
xz -d -c "$cc/ort_main.so.xz" > "$cc/app/libonnxruntime.so"; cp "$cc/libonnxruntime_providers_shared.so" "$cc/app/"
. "$cc/env.sh"; C="$cc/rt/dotnet $cc/app/condensa.dll"
for a in llama qwen3 phi3 gemma2 gemma3; do
  $C export --checkpoint "$root/tests/TestData/golden/$a" --out /tmp/archs/$a --precision fp16 > $o/$a-export.log 2>&1 || echo "$a: export failed"
  for v in "auto:" "general:--fused-attention off"; do
    timeout 120 $C bench --provider cuda -m /tmp/archs/$a --batch 1,4 --context 16 --decode-steps 8 --runs 2 --prefill-tokens 8 \
      --no-bandwidth ${v#*:} > $o/$a-${v%%:*}.out 2> $o/$a-${v%%:*}.err
    echo "$a ${v%%:*}: rc $? $(grep -E 'provider' $o/$a-${v%%:*}.err | head -1)"
    grep -E '^\| /tmp' $o/$a-${v%%:*}.out | cut -d'|' -f4,6 | tr '\n' ' '; grep -iE 'error|exception' $o/$a-${v%%:*}.err | head -2; echo
  done
done
