#!/usr/bin/env bash
# Device call 1 (carry [".cuda/a"], made by pack.sh): installs the .NET runtime and the app(s) under /opt/cc, keeps the
# first part of the CUDA provider for call 2, reports the machine's CUDA libraries ($OUT/env.txt), writes /opt/cc/env.sh
# (LD_LIBRARY_PATH for the provider) and starts, in their own session so they outlive this call, the exports of one
# random TinyLlama-1.1B-shape checkpoint with an 8,448-token context (/tmp/r: fp16, int4, fp32; and lckv, the same shape
# layer-condensed; EXPORTS below) and the GGUFs of the same
# shape (/tmp/g: f16, q4_0).
set -uo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd); a=$root/.cuda/a; out=${OUT:?set OUT}; cc=/opt/cc; ctx=${CTX:-8448}
mkdir -p "$cc/rt" "$cc/app" /tmp/r /tmp/g
tar xJf "$a/runtime.tar.xz" -C "$cc/rt" && tar xJf "$a/app.tar.xz" -C "$cc/app" && cp "$a/ort_cuda.xz.1" "$cc/" || echo "INSTALL FAILED"
[ -f "$a/base.tar.xz" ] && mkdir -p "$cc/base" && tar xJf "$a/base.tar.xz" -C "$cc/base" && cp "$a/base.commit" "$cc/"
cp "$a/make_gguf.py" "$cc/"   # the carried tree changes under the background jobs when the next call carries another folder
export DOTNET_ROOT=$cc/rt DOTNET_CLI_TELEMETRY_OPTOUT=1
C="$cc/rt/dotnet $cc/app/condensa.dll"

# The exports need no ONNX Runtime: they run beside the transfer of call 2. The random checkpoint has a byte-level
# tokenizer, so generate runs on it.
# EXPORTS picks them (default: all four); "mha" adds the KV-heavy tinyllama-1.1b-mha (/tmp/r/mha); "demo-mha" the random
# demo-code-mha shape (/tmp/r/dmha); "fp16off" adds the fp16 export without SwiGLU (/tmp/r/fp16off); "families" adds fp16 exports of the qwen3-0.6b, phi-4-mini and gemma-3-1b
# shapes at 4,096 tokens (/tmp/r/qwen3, /tmp/r/phi4, /tmp/r/gemma3), each line of /tmp/r/export.done naming one done.
exports=${EXPORTS:-fp16 int4 fp32 lckv}
# BASE=0 skips the fp16 1.1B export that the others follow (int4 and fp32 convert its checkpoint): a short call's
# demo-mha export then starts at once.
base=${BASE:-1}
setsid bash -c "
  : > /tmp/r/export.log
  if [ $base = 1 ]; then
    $C export --random --shape tinyllama-1.1b --max-context $ctx --checkpoint /tmp/r/ckpt --out /tmp/r/fp16 --precision fp16 >> /tmp/r/export.log 2>&1
    echo fp16 \$? >> /tmp/r/export.done
  fi
  for e in $exports; do case \$e in
    int4|fp32) $C export --checkpoint /tmp/r/ckpt --out /tmp/r/\$e --precision \$e >> /tmp/r/export.log 2>&1; echo \$e \$? >> /tmp/r/export.done;;
    fp16off) $C export --checkpoint /tmp/r/ckpt --out /tmp/r/fp16off --precision fp16 --swiglu off >> /tmp/r/export.log 2>&1; echo fp16off \$? >> /tmp/r/export.done;;
    lckv) $C export --random --shape tinyllama-1.1b-lckv --max-context $ctx --checkpoint /tmp/r/lckv-ckpt --out /tmp/r/lckv --precision fp16 \
      >> /tmp/r/export.log 2>&1; echo lckv \$? >> /tmp/r/export.done;;
    mha) $C export --random --shape tinyllama-1.1b-mha --max-context $ctx --checkpoint /tmp/r/mha-ckpt --out /tmp/r/mha --precision fp16 \
      >> /tmp/r/export.log 2>&1; echo mha \$? >> /tmp/r/export.done; rm -rf /tmp/r/mha-ckpt;;
    demo-mha) $C export --random --shape demo-code-mha --checkpoint /tmp/r/dmha-ckpt --out /tmp/r/dmha --precision fp16 \
      >> /tmp/r/export.log 2>&1; echo demo-mha \$? >> /tmp/r/export.done; rm -rf /tmp/r/dmha-ckpt;;
    families) for f in qwen3:qwen3-0.6b gemma3:gemma-3-1b phi4:phi-4-mini; do
      $C export --random --shape \${f#*:} --max-context 4096 --checkpoint /tmp/r/ckpt-\${f%%:*} --out /tmp/r/\${f%%:*} --precision fp16 \
        >> /tmp/r/export.log 2>&1; echo \${f%%:*} \$? >> /tmp/r/export.done; rm -rf /tmp/r/ckpt-\${f%%:*}; done;;
  esac; done
" < /dev/null > /dev/null 2>&1 &
if [ "${GGUF:-1}" = 1 ] && python3 -c 'import numpy' 2>/dev/null; then   # GGUF=0: no llama.cpp peer in this session
  setsid bash -c "for t in f16 q4_0; do python3 $cc/make_gguf.py --type \$t --context $ctx --out /tmp/g/\$t.gguf > /tmp/g/\$t.log 2>&1; echo \$t \$? >> /tmp/g/done; done" \
    < /dev/null > /dev/null 2>&1 &
fi

{
  echo "== date $(date -u +%FT%TZ) kernel $(uname -r)"; nvidia-smi 2>&1 | head -15
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem --format=csv 2>&1
  echo "== torch"; python3 -c 'import torch;print(torch.__version__, torch.version.cuda, torch.backends.cudnn.version())' 2>&1
  echo "== every copy of the sonames ONNX Runtime's CUDA provider loads"
  find /usr/local /opt /usr/lib \( -name 'libcudart.so.13*' -o -name 'libcublas.so.13*' -o -name 'libcublasLt.so.13*' \
    -o -name 'libcurand.so.10*' -o -name 'libcudnn.so.9*' -o -name 'libnvrtc.so.13*' -o -name 'libcufft.so.12*' \) 2>/dev/null | sort
} > "$out/env.txt" 2>&1
# LD_LIBRARY_PATH: the folder of the first copy of each soname (ldconfig's cache first, then the search above).
dirs=""
for so in libcudart.so.13 libcublas.so.13 libcublasLt.so.13 libcurand.so.10 libcudnn.so.9 libnvrtc.so.13 libcufft.so.12; do
  p=$(ldconfig -p | awk -v l=$so '$1==l {print $NF; exit}')
  [ -z "$p" ] && p=$(grep -m1 "/$so" "$out/env.txt" | grep -v '^==')
  echo "$so -> ${p:-MISSING}" >> "$out/env.txt"
  if [ -n "$p" ]; then d=$(dirname "$p"); case ":$dirs:" in *":$d:"*) ;; *) dirs="$dirs:$d" ;; esac; fi
done
echo "export LD_LIBRARY_PATH=${dirs#:}\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH} DOTNET_ROOT=$cc/rt DOTNET_CLI_TELEMETRY_OPTOUT=1" > "$cc/env.sh"
cat "$cc/env.sh" >> "$out/env.txt"; cat "$out/env.txt"
$C --version 2>&1 | head -2
echo "packed from: $(head -1 $cc/app/PACKED_FROM 2>/dev/null || echo unknown)" | tee -a "$out/env.txt"
