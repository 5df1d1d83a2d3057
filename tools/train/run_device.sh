#!/usr/bin/env bash
# Runs the whole demo-model pipeline on the GPU machine (one H200), from the repository root:
#
#   bash tools/train/run_device.sh smoke   # corpus + tokenizer training + self-tests + 20 s of each trainer
#                                          # + a short evaluation + the tiny transformers fixtures
#   bash tools/train/run_device.sh full    # corpus (tokenizer from models/demo-code) + the three trainers
#                                          # concurrently + evaluation (new and INIT checkpoints) + golden
#   bash tools/train/run_device.sh quick   # full's path with 40 s of training and a small evaluation
#   bash tools/train/run_device.sh mha     # demo-code-mha alone: P1_SECS (220) from scratch on 1024-token windows,
#                                          # then P2_SECS (130) on 8192 at half the peak, then --single evaluation
#                                          # beside the shipped demo-code (if its weights are here); ckpt-mha.tar.NN (cat ckpt-mha.tar.* | tar -x)
#
# Training: by default the long-context phase, which continues from the checkpoints in INIT (default models/:
# the shipped ones) on SEQ-token windows (default 8192) at LR_SCALE (default 0.5) times the preset's peak;
# evaluate.py then measures the INIT checkpoints beside the new ones. INIT= SEQ=1024 LR_SCALE=1 is the first
# recipe: from scratch on 1024-token windows.
#
# Results go to $OUT (default /tmp/out): run.log, ckpt.tar.NN (the three checkpoint folders, split in 15 MB
# parts: cat ckpt.tar.* | tar -x -C models), results.tar (results.json, golden/, training logs), smoke.tar.
# The full run sizes the training budget so that the whole command ends by DEADLINE seconds.
set -uo pipefail
MODE=${1:-full}
OUT=${OUT:-/tmp/out}
DEADLINE=${DEADLINE:-555}          # seconds from start by which everything should be done (limit 600)
EVAL_RESERVE=${EVAL_RESERVE:-175}  # evaluation (new and INIT checkpoints, ~150 s) + packing after training
DRAFT_SECS=${DRAFT_SECS:-200}      # the draft stops early and leaves the GPU to the two larger models
INIT=${INIT-models}                # checkpoints the long phase continues from; empty: from scratch
SEQ=${SEQ:-8192}                   # training window
LR_SCALE=${LR_SCALE:-0.5}          # a continued phase restarts below the first phase's peak
export PYTHONUNBUFFERED=1
T0=$(date +%s)
W=/tmp/condensa-train
rm -rf "$W"; mkdir -p "$W"/{logs,models,eval} "$OUT"
stamp() { echo "[run $(( $(date +%s) - T0 ))s] $*"; }
D=$(dirname "$0")                  # the scripts beside this one (a carried copy runs its own)

nvidia-smi --query-gpu=name,memory.used,memory.total,driver_version --format=csv,noheader
python3 -c "import sys, torch, transformers, tokenizers, sentencepiece, safetensors, numpy; \
print('python', sys.version.split()[0], 'torch', torch.__version__, 'transformers', transformers.__version__, \
'tokenizers', tokenizers.__version__, 'sentencepiece', sentencepiece.__version__, 'numpy', numpy.__version__)"

if [ "$MODE" != smoke ] && [ "$MODE" != mha ]; then
  # the LCKV checks (GPU, ~20 s) run beside the corpus build (CPU); they cover lckv.attend_before
  python3 $D/selftest.py > $W/logs/selftest.log 2>&1 &
  spid=$!
fi
stamp "corpus"
if [ "$MODE" = smoke ]; then
  python3 $D/corpus.py --work $W/data --tokenizer-dir $W/tokenizer --train-tokenizer || exit 1
else
  python3 $D/corpus.py --work $W/data --tokenizer-dir $W/tokenizer --existing models/demo-code || exit 1
fi
cat $W/data/corpus.json

if [ "$MODE" = mha ]; then
  # one model, the GPU its own: the first recipe, then the long-context phase from it, in this one call
  P1=${P1_SECS:-220}; P2=${P2_SECS:-130}
  stamp "demo-code-mha: ${P1}s on 1024-token windows from scratch, then ${P2}s on ${SEQ} (lr x$LR_SCALE)"
  python3 $D/train.py --model demo-code-mha --data $W/data --tokenizer-dir $W/tokenizer --out $W/models/mha-1024 \
    --seconds $P1 --seq-len 1024 --stats $W/logs/train_demo-code-mha-1024.json > $W/logs/demo-code-mha-1024.log 2>&1 \
    || { tail -n 20 $W/logs/demo-code-mha-1024.log; stamp "PHASE 1 FAILED"; exit 1; }
  grep -v " step " $W/logs/demo-code-mha-1024.log | tail -n 6
  python3 $D/train.py --model demo-code-mha --data $W/data --tokenizer-dir $W/tokenizer --out $W/models/demo-code-mha \
    --seconds $P2 --seq-len $SEQ --lr-scale $LR_SCALE --init $W/models/mha-1024 --stats $W/logs/train_demo-code-mha.json \
    > $W/logs/demo-code-mha.log 2>&1 || { tail -n 20 $W/logs/demo-code-mha.log; stamp "PHASE 2 FAILED"; exit 1; }
  grep -v " step " $W/logs/demo-code-mha.log | tail -n 6
  stamp "packing the checkpoint"   # ~18 MB: in 15 MB parts, as full's (files come back at 16 MiB at most)
  tar -cf $W/ckpt-mha.tar -C $W/models demo-code-mha && split -b 15m -d $W/ckpt-mha.tar $OUT/ckpt-mha.tar.
  # beside the shipped demo-code where its weights travelled (a call that carries the app as well has room for its
  # tokenizer alone: demo-code's figures are then docs/demo-models.md's)
  beside=""; [ -f models/demo-code/model.safetensors ] && beside=",models/demo-code"
  stamp "evaluate ${beside:+beside the shipped demo-code}"
  left=$(( DEADLINE + 25 - ($(date +%s) - T0) ))
  timeout $left python3 $D/evaluate.py --single $W/models/demo-code-mha$beside --data $W/data \
    --tokenizer-dir $W/tokenizer --out $W/eval --ppl-tokens 262144 --prompts 16 --new-tokens 64 \
    --accept-contexts 1024,4096,8192 --budgets 16+256 || echo "EVAL FAILED OR STOPPED"
  tar -cf $OUT/results.tar -C $W eval logs data/corpus.json
  cat $W/eval/results.json 2>/dev/null | head -c 6000
  ls -la $OUT
  stamp "done"
  exit 0
fi

if [ "$MODE" = smoke ]; then
  stamp "selftest"
  python3 $D/selftest.py || echo "SELFTEST FAILED"
  SECS=20; INIT=""; SEQ=1024; LR_SCALE=1
else
  # if the checks fail, train and evaluate LCKV on the explicit-mask path
  wait $spid || { cat $W/logs/selftest.log; echo "SELFTEST FAILED: LCKV_MASKED_ATTENTION=1"; \
    export LCKV_MASKED_ATTENTION=1; }
  stamp "selftest: $(grep -c '^ok' $W/logs/selftest.log) checks ok"
fi
if [ "$MODE" = quick ]; then
  SECS=40
elif [ "$MODE" = full ]; then
  SECS=$(( DEADLINE - ($(date +%s) - T0) - EVAL_RESERVE - 25 ))
fi
stamp "training three models concurrently for ${SECS}s each (windows $SEQ, init '${INIT}', lr x$LR_SCALE)"
pids=()
for m in demo-code demo-code-draft demo-code-lckv; do
  secs=$SECS
  if [ "$m" = demo-code-draft ] && [ "$MODE" = full ] && [ "$DRAFT_SECS" -lt "$SECS" ]; then secs=$DRAFT_SECS; fi
  init=(); [ -n "$INIT" ] && init=(--init "$INIT/$m")
  python3 $D/train.py --model $m --data $W/data --tokenizer-dir $W/tokenizer --out $W/models/$m \
    --seconds $secs --seq-len $SEQ --lr-scale $LR_SCALE "${init[@]}" --stats $W/logs/train_$m.json \
    > $W/logs/$m.log 2>&1 &
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

if [ "$MODE" != smoke ]; then
  stamp "packing checkpoints"
  (cd $W/models && tar -cf $W/ckpt.tar demo-code demo-code-draft demo-code-lckv) && \
    split -b 15m -d $W/ckpt.tar $OUT/ckpt.tar.
  ls -la $OUT
fi

stamp "evaluate"
if [ "$MODE" = smoke ]; then
  python3 $D/evaluate.py --models $W/models --data $W/data --tokenizer-dir $W/tokenizer --out $W/eval \
    --contexts 1024 --ppl-tokens 16384 --seq-windows 4 --accept-contexts 256 --prompts 4 --new-tokens 16 \
    || echo "EVAL FAILED"
  tar -cf $OUT/smoke.tar -C $W tokenizer golden eval logs data/corpus.json data/heldout_files.txt
else
  base=(); [ -n "$INIT" ] && base=(--baseline "$INIT")
  small=(); [ "$MODE" = quick ] && small=(--ppl-tokens 65536 --seq-windows 4 --prompts 8 --new-tokens 32)
  # evaluate.py rewrites results.json after every section: stopping it at the deadline keeps what it measured
  left=$(( DEADLINE + 25 - ($(date +%s) - T0) ))
  timeout $left python3 $D/evaluate.py --models $W/models "${base[@]}" --data $W/data \
    --tokenizer-dir $W/tokenizer --out $W/eval "${small[@]}" || echo "EVAL FAILED OR STOPPED"
  tar -cf $OUT/results.tar -C $W eval golden logs data/corpus.json data/heldout_files.txt
fi
cat $W/eval/results.json 2>/dev/null | head -c 6000
ls -la $OUT
stamp "done"
