#!/usr/bin/env bash
# Runs the whole demo-model pipeline on the GPU machine (one H200), from the repository root:
#
#   bash tools/train/run_device.sh smoke   # corpus + tokenizer training + self-tests + 20 s of each trainer
#                                          # + a short evaluation + the tiny transformers fixtures
#   bash tools/train/run_device.sh full    # corpus (tokenizer from models/demo-code) + the three trainers
#                                          # concurrently + evaluation + demo golden fixtures
#
# Results go to $OUT (default /tmp/out): run.log, ckpt.tar.NN (the three checkpoint folders, split in 15 MB
# parts: cat ckpt.tar.* | tar -x -C models), results.tar (results.json, golden/, training logs), smoke.tar.
# The full run sizes the training budget so that the whole command ends by DEADLINE seconds (default 540).
set -uo pipefail
MODE=${1:-full}
OUT=${OUT:-/tmp/out}
DEADLINE=${DEADLINE:-550}          # seconds from start by which everything should be done (limit 600)
EVAL_RESERVE=${EVAL_RESERVE:-90}   # evaluation + packing after training
DRAFT_SECS=${DRAFT_SECS:-150}      # the draft stops early and leaves the GPU to the two larger models
export PYTHONUNBUFFERED=1
T0=$(date +%s)
W=/tmp/condensa-train
rm -rf "$W"; mkdir -p "$W"/{logs,models,eval} "$OUT"
stamp() { echo "[run $(( $(date +%s) - T0 ))s] $*"; }
D=tools/train

nvidia-smi --query-gpu=name,memory.used,memory.total,driver_version --format=csv,noheader
python3 -c "import sys, torch, transformers, tokenizers, sentencepiece, safetensors, numpy; \
print('python', sys.version.split()[0], 'torch', torch.__version__, 'transformers', transformers.__version__, \
'tokenizers', tokenizers.__version__, 'sentencepiece', sentencepiece.__version__, 'numpy', numpy.__version__)"

stamp "corpus"
if [ "$MODE" = smoke ]; then
  python3 $D/corpus.py --work $W/data --tokenizer-dir $W/tokenizer --train-tokenizer || exit 1
else
  python3 $D/corpus.py --work $W/data --tokenizer-dir $W/tokenizer --existing models/demo-code || exit 1
fi
cat $W/data/corpus.json

if [ "$MODE" = smoke ]; then
  stamp "selftest"
  python3 $D/selftest.py || echo "SELFTEST FAILED"
  SECS=20
else
  SECS=$(( DEADLINE - ($(date +%s) - T0) - EVAL_RESERVE - 25 ))
fi
stamp "training three models concurrently for ${SECS}s each"
pids=()
for m in demo-code demo-code-draft demo-code-lckv; do
  secs=$SECS
  if [ "$m" = demo-code-draft ] && [ "$MODE" = full ] && [ "$DRAFT_SECS" -lt "$SECS" ]; then secs=$DRAFT_SECS; fi
  python3 $D/train.py --model $m --data $W/data --tokenizer-dir $W/tokenizer --out $W/models/$m \
    --seconds $secs --stats $W/logs/train_$m.json > $W/logs/$m.log 2>&1 &
  pids+=($!)
done
# the tiny transformers fixtures need no GPU: build them on a few CPU cores meanwhile
CUDA_VISIBLE_DEVICES= OMP_NUM_THREADS=4 python3 $D/golden_tiny.py --out $W/golden > $W/logs/golden_tiny.log 2>&1 &
gpid=$!
n=0
while :; do
  alive=0
  for p in "${pids[@]}"; do kill -0 $p 2>/dev/null && alive=1; done
  [ $alive = 0 ] && break
  sleep 5; n=$((n + 1))
  if [ $((n % 6)) = 0 ]; then
    stamp "progress"; for m in demo-code demo-code-draft demo-code-lckv; do tail -n 1 $W/logs/$m.log; done
  fi
done
rc=0
for p in "${pids[@]}"; do wait $p || rc=1; done
for m in demo-code demo-code-draft demo-code-lckv; do echo "--- $m"; grep -v " step " $W/logs/$m.log | tail -n 8; done
[ $rc = 0 ] || stamp "A TRAINER FAILED"
wait $gpid || echo "GOLDEN TINY FAILED"
grep -E "^(llama|mistral|qwen2):|Error|error" $W/logs/golden_tiny.log | head -n 20

if [ "$MODE" = full ]; then
  stamp "packing checkpoints"
  (cd $W/models && tar -cf $W/ckpt.tar demo-code demo-code-draft demo-code-lckv) && \
    split -b 15m -d $W/ckpt.tar $OUT/ckpt.tar.
  ls -la $OUT
fi

stamp "evaluate"
if [ "$MODE" = smoke ]; then
  python3 $D/evaluate.py --models $W/models --data $W/data --tokenizer-dir $W/tokenizer --out $W/eval \
    --ppl-windows 16 --seq-windows 4 --prompts 4 --new-tokens 16 || echo "EVAL FAILED"
  tar -cf $OUT/smoke.tar -C $W tokenizer golden eval logs data/corpus.json data/heldout_files.txt
else
  python3 $D/evaluate.py --models $W/models --data $W/data --tokenizer-dir $W/tokenizer --out $W/eval \
    || echo "EVAL FAILED"
  tar -cf $OUT/results.tar -C $W eval golden logs data/corpus.json data/heldout_files.txt
fi
cat $W/eval/results.json 2>/dev/null | head -c 6000
ls -la $OUT
stamp "done"
