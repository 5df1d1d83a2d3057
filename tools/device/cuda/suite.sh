#!/usr/bin/env bash
# Device call 3 (carry [".cuda/b"], within 30 s of peers.sh): completes the install, then
#   1. greedy parity: demo-code (64 and 400 tokens; a ragged batch of 8 through extract; speculative modes at batch 1
#      and 8) and the 1.1B-shape fp16 export (64 tokens; a ragged batch of 8; speculative modes) on cpu, cuda (CUDA
#      graphs and, for float16, fused attention: the defaults), cuda --fused-attention off, --graph-capture off and
#      host KV;
#   2. the HBM read bandwidth (torch), then condensa bench on cuda: the 1.1B fp16 export at batch 1 and 32 x context
#      512 / 2048 / 8192 with fused attention on and off, the base app (pack.sh BASE) for an A/B, int4, demo-code, and
#      demo-code beside demo-code-lckv at the largest batch each fits in one KV budget;
#   3. ONNX Runtime profiles of uncaptured decode steps (per-kernel time; replays have no node events).
# Everything lands in $OUT/suite.tgz; the summaries go to stdout.
set -uo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd); b=$root/.cuda/b; out=${OUT:?set OUT}; cc=/opt/cc; o=/tmp/sout
rm -rf $o; mkdir -p $o/prof "$out"   # $out too: round 38 a's OUT=$OUT/refill did not exist, and its tarball was lost
finish() { (cd /tmp && tar czf "$out/suite.tgz" sout); }; trap finish EXIT
log() { echo "== $(date +%T) $*" | tee -a $o/log.txt; }
# timeout's SIGTERM cancels a condensa command, which ends after its pass in flight; -k kills one still running 20 s later
run() { local name=$1; shift; log "$name: ${*#$cc/}"; timeout -k 20 ${TMO:-180} "$@" > $o/$name.out 2> $o/$name.err; local rc=$?
  echo "   rc=$rc" | tee -a $o/log.txt; grep -v '^exporting\|^wrote\|^exported' $o/$name.err | tail -3 | tee -a $o/log.txt; return $rc; }
# every speculative mode at batch 1 and 8 on ${SPECMODEL:-demo-code}: bench says whether each gave plain decoding's tokens
spec() { local name=$1; shift; run $name $C bench --speculative none,self,lookup,tree-self -m ${SPECMODEL:-demo-code} --batch 1,8 --context 256 \
  --max-tokens 64 --runs 1 --prompt-file tools/train/train.py "$@"; grep -E '^\|' $o/$name.out | tee -a $o/log.txt; }
# eight prompts of different lengths (ragged rows: the starts of the project's own C# files) and a template that is the text
extract_inputs() {
  python3 - "$root" > $o/docs.jsonl <<'PY'
import json, sys, pathlib
files = sorted(pathlib.Path(sys.argv[1], "src/Runtime").rglob("*.cs"))[:8]
for i, f in enumerate(files):
    print(json.dumps({"id": f"doc{i}", "text": f.read_text()[: 200 + 150 * i]}))
PY
  printf '%s' '{{text}}' > $o/template.txt
}
# extract --batch 8 over those prompts on cpu and cuda, and how many records agree: extract_parity NAME MODEL
extract_parity() { local name=$1 model=$2 v; extract_inputs
  for v in cpu cuda; do
    run $name-$v $C extract --model $model --input $o/docs.jsonl --prompt-template $o/template.txt --output $o/$name-$v.jsonl \
      --batch 8 --max-tokens 48 --temperature 0 --provider $v
  done
  records_equal "$name-cuda" "$name-cpu" $o/$name-cpu.jsonl $o/$name-cuda.jsonl
}
# how many of an extract output's records (by id) have the reference output's text: records_equal NAME REFNAME REF.jsonl RUN.jsonl
records_equal() {
  python3 -c "import json,sys; a,b=[{r['id']:r.get('text') for r in map(json.loads,open(f))} for f in sys.argv[3:]]; print(f'{sys.argv[1]}: {sum(a[k]==b.get(k) for k in a)} of {len(a)} records equal to {sys.argv[2]}')" \
    "$@" | tee -a $o/log.txt
}
# demo-code exported as float16 (/tmp/r/demo16), 200 greedy tokens under each "NAME:ARGS" variant, and where each leaves
# the first's tokens: demo16_parity PREFIX VARIANT...
demo16_parity() { local prefix=$1 v names=(); shift
  $C export --checkpoint models/demo-code --out /tmp/r/demo16 --precision fp16 > $o/demo16-export.log 2>&1
  for v in "$@"; do
    run $prefix-${v%%:*} $C generate --model /tmp/r/demo16 --prompt 'def fibonacci(n):' --max-tokens 200 --temperature 0 --json ${v#*:}
    names+=("$prefix-${v%%:*}")
  done
  python3 "$root/tools/device/cuda/first_diff.py" $o "${names[@]}" | tee -a $o/log.txt
}
# Nsight Compute's kernel times of uncaptured decode passes of the 1.1B fp16 export at batch 1 (~490 tokens) and 32 x 512,
# cut into passes by kernel_times.py ($o/kernels-b1.txt, kernels-b32.txt; the raw CSVs are dropped)
kernel_times() { local K
  K="--csv --page raw --metrics gpu__time_duration.sum --clock-control none"
  head -c 480 "$root/tools/train/train.py" > $o/prompt480.txt
  TMO=300 run ncu-b1 $NCU $K --log-file $o/ncu-b1.csv $C generate --model /tmp/r/fp16 --prompt-file $o/prompt480.txt --max-tokens 8 \
    --temperature 0 --provider cuda --graph-capture off
  TMO=300 run ncu-b32 $NCU $K --log-file $o/ncu-b32.csv $C bench --provider cuda --graph-capture off -m /tmp/r/fp16 --batch 32 --context 512 \
    --runs 1 --decode-steps 4 --prefill-tokens 16 --no-bandwidth
  for b in b1 b32; do python3 "$root/tools/device/cuda/kernel_times.py" $o/ncu-$b.csv ncu-$b > $o/kernels-$b.txt 2>&1; head -c 3000 $o/kernels-$b.txt; done
  rm -f $o/ncu-*.csv
}
T0=$(date +%s)

# 1) the rest of the install (a later call on the warm machine may carry another folder instead of .cuda/b: the provider
#    unpacked by an earlier call stays)
if [ -f "$b/ort_cuda.xz.2" ]; then
  cat "$cc/ort_cuda.xz.1" "$b/ort_cuda.xz.2" | xz -d > "$cc/app/libonnxruntime_providers_cuda.so" || log "CUDA PROVIDER UNPACK FAILED"
elif [ ! -s "$cc/app/libonnxruntime_providers_cuda.so" ]; then
  log "no .cuda/b in this call and no CUDA provider unpacked by an earlier one: run install.sh, then suite.sh with .cuda/b"; exit 3
fi
# ONNX Runtime's main library comes with .cuda/b (pack.sh), or staged by peers.sh from .cuda/c, or unpacked by an earlier call
[ -f "$b/ort_main.so.xz" ] && cp "$b/ort_main.so.xz" "$b/libonnxruntime_providers_shared.so" "$cc/"
if [ -f "$cc/ort_main.so.xz" ]; then
  xz -d -c "$cc/ort_main.so.xz" > "$cc/app/libonnxruntime.so"; cp "$cc/libonnxruntime_providers_shared.so" "$cc/app/"
elif [ ! -s "$cc/app/libonnxruntime.so" ]; then
  log "no libonnxruntime.so: carry a .cuda/b packed with it (pack.sh) or run STAGE_ONLY=1 peers.sh with .cuda/c first"; exit 3
fi
[ -d "$cc/base" ] && cp "$cc"/app/libonnxruntime*.so "$cc/base/"
. "$cc/env.sh"
C="$cc/rt/dotnet $cc/app/condensa.dll"; BASE="$cc/rt/dotnet $cc/base/condensa.dll"
NCU=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1)   # Nsight Compute, for the profiles
# APP=base runs any block below on the base app (pack.sh BASE_COMMIT), e.g. after QUICK=68 kept the base's exporter.
[ "${APP:-app}" = base ] && { [ -d "$cc/base" ] || { log "APP=base but no base app"; exit 3; }; C=$BASE; }
export CONDENSA_CACHE=/tmp/ccache; cd "$root"
[ -f models/demo-code/config.json ] || { mkdir -p models && cp -r "$b"/demo-code* models/; }   # pack.sh: models/ stays behind
[ -f models/demo-code-lckv/config.json ] || { [ -d "$cc/demo-code-lckv" ] && rm -rf models/demo-code-lckv && cp -r "$cc/demo-code-lckv" models/; }   # staged by peers.sh

[ -x "$cc/rt/dotnet" ] || { log "NO INSTALL in $cc (the machine was released since install.sh): run install.sh and peers.sh first"; exit 3; }

# QUICK=23: the install alone (the CUDA provider assembled in /opt/cc/app), for spectests.sh.
[ "${QUICK:-0}" = 23 ] && exit 0

# QUICK=1 (when device time is short): the 1.1B fp16 benches with fused attention on and off, and greedy parity of
# demo-code exported as float16 through both graphs
if [ "${QUICK:-0}" = 1 ]; then
  demo16_parity q16 "cpu:--provider cpu" "cuda:--provider cuda" "cuda-general:--provider cuda --fused-attention off"
  for i in $(seq 150); do [ -s /tmp/r/export.done ] && break; sleep 2; done
  B="bench --provider cuda --runs 5 --decode-steps 32 --prefill-tokens 512 --bandwidth ${BW:-4362}"
  TMO=200 run bench-fp16 $C $B -m /tmp/r/fp16 --batch 1,32 --context 512,2048,8192 --json $o/bench-fp16.json
  TMO=200 run bench-fp16-general $C $B -m /tmp/r/fp16 --batch 1,32 --context 512,2048,8192 --fused-attention off --json $o/bench-fp16-general.json
  for f in $o/bench-*.out; do echo "-- $(basename $f)"; grep -E '^\| /tmp' $f; grep -E 'provider' ${f%.out}.err | head -1; done | tee -a $o/log.txt
  exit 0
fi

# QUICK=6: ONNX Runtime's TunableOp GEMM selection (CONDENSA_CUDA_OPTIONS) against the default on the 1.1B fp16 export,
# captured and not, and the layer-condensed bench at a 4 GiB KV budget. (Round 6 also ran the weights kept [out, in]
# behind FusedMatMul transB=1: cuBLAS chose the same kernels at the same speed, and that export switch was removed.)
# QUICK=7: speculation on cuda where MagicDec says it pays (issue 18): the draft and self pairs calibrated on cuda, then every
# mode on the long-context demo models at batch SPEC_BATCH x prompt SPEC_CTX (default 1,32 x 1024,7936: the context less the 128 new tokens), greedy, 128 new tokens,
# the planner's choice (γ or the tree) printed per row. Prompts are cut from the project's own Python and docs.
# SPEC_TARGET=/tmp/r/fp16 SPEC_MODES=none,self,lookup,tree-self runs the 1.1B shape instead (install.sh's fp16 export, a
# memory-bound step; its random weights make acceptance meaningless, the verify-against-step cost is what it shows).
# SPEC_PRECISION (fp16 by default: the causal graph on cuda; round 7 ran fp32) exports the demo models for the run.
if [ "${QUICK:-0}" = 7 ]; then
  P="--provider cuda --precision ${SPEC_PRECISION:-fp16}"; texts=$(ls tools/train/*.py tools/*/*.py tools/*/*/*.py docs/*.md 2>/dev/null | sed 's/^/--prompt-file /' | tr '\n' ' ')
  G="--batch ${SPEC_BATCH:-1,32} --context ${SPEC_CTX:-1024,7936}"   # time the steps where the bench runs
  T=${SPEC_TARGET:-demo-code}; M=${SPEC_MODES:-none,self,draft,lookup,tree-self,tree-draft}
  TMO=150 run cal-self $C calibrate -m $T $P --sinks 16 --window 256 $G
  case $M in *draft*) TMO=150 run cal-draft $C calibrate -m $T --draft demo-code-draft $P $G;; esac
  TMO=${SPEC_TMO:-420} run spec $C bench --speculative $M -m $T --draft demo-code-draft $P \
    --batch ${SPEC_BATCH:-1,32} --context ${SPEC_CTX:-1024,7936} --max-tokens 128 --runs ${SPEC_RUNS:-1} $texts --json $o/spec.json --chart $o/spec.svg
  grep -E '^\|' $o/spec.out | tee -a $o/log.txt
  exit 0
fi

# Shared by QUICK=8-11 (issues 18 and 20): prompts cut from the project's own Python and docs; the demo-code grid (both
# pairs calibrated on cuda, then every speculative mode at SPEC_BATCH x SPEC_CTX, float16, 128 new tokens); the 1.1B fp16
# shape's cost grid (plain, self, lookup at 1 and 32 x 1,024 and 7,936, self calibrated first; install.sh's export); a
# random family shape's decode bench (install.sh EXPORTS="fp16 families").
# (to round 20 a glob tools/train/*.py beside tools/*/*.py named those nine files twice, repeating them in the prompts)
# PROMPTS=heldout: the demo models' held-out files instead (tools/train/heldout_text.py: code of the kind they trained on,
# unseen in training; the project's docs give a 9M model text it loops on, which a window draft predicts).
prompt_texts() {
  if [ "${PROMPTS:-project}" = heldout ]; then
    [ -s /tmp/heldout.txt ] || python3 tools/train/heldout_text.py --out /tmp/heldout.txt --max-chars 5000000 >> $o/log.txt 2>&1
    echo "--prompt-file /tmp/heldout.txt"
  else
    ls tools/*/*.py docs/*.md 2>/dev/null | sed 's/^/--prompt-file /' | tr '\n' ' '
  fi; }
# this card's HBM read bandwidth in GB/s (torch: the best of six sums over 8 GiB of float32) into $bw and $o/hbm.txt,
# 4300 where torch cannot tell: the bound that bench's shares take (--bandwidth $bw)
hbm_bandwidth() {
  python3 - > $o/hbm.txt 2>&1 <<'PY'
import torch, time
x = torch.ones(8 << 28, dtype=torch.float32, device="cuda"); best = 0.0
for _ in range(6):
    torch.cuda.synchronize(); t = time.perf_counter(); s = x.sum(); torch.cuda.synchronize()
    best = max(best, x.numel() * 4 / (time.perf_counter() - t) / 1e9)
print(f"{best:.0f}")
PY
  bw=$(tail -1 $o/hbm.txt); log "HBM read GB/s: $bw"; case $bw in ''|*[!0-9]*) bw=4300 ;; esac; }
wait_export() { local n; [ -f /tmp/r/export.log ] || { log "no export under way in /tmp/r (install.sh starts it)"; return 1; }
  for i in $(seq 150); do n=$(grep -c . /tmp/r/export.done 2>/dev/null); [ "${n:-0}" -ge ${1:-1} ] && break; sleep 2; done; }
# waits (up to 5 minutes) for install.sh's background export NAME to be done: wait_named_export NAME
wait_named_export() { [ -f /tmp/r/export.log ] || { log "no export under way in /tmp/r (install.sh starts it)"; return 1; }
  for i in $(seq 150); do grep -q "^$1 " /tmp/r/export.done 2>/dev/null && return 0; sleep 2; done; return 1; }
# the demo pair's chains (none, self, draft, lookup) at 1 and 32 x 1,024 and 7,936, CHAIN_TOKENS (128) new tokens:
# demo_chains NAME [BENCH ARGS]
demo_chains() { local name=$1; shift
  TMO=${SPEC_TMO:-170} run $name $C bench --speculative none,self,draft,lookup -m demo-code --draft demo-code-draft --provider cuda \
    --precision fp16 --batch ${CHAIN_BATCH:-1,32} --context ${CHAIN_CTX:-1024,7936} --max-tokens ${CHAIN_TOKENS:-128} --runs 1 "$@" $(prompt_texts) \
    --json $o/$name.json --chart $o/$name.svg
  show_rows $name; }
# a bench run's table rows (a bench stopped part way: its finished cells, from its JSON), its notes on rows that left plain
# decoding's tokens, and per speculative row (from its JSON)
# the documents the loop moved, the decode milliseconds outside the rounds and the graphs captured, and per row a run's
# prefill and whole seconds: show_rows NAME [ERR PATTERN]
show_rows() { echo "-- $1" | tee -a $o/log.txt; grep -E '^\|' $o/$1.out | tee -a $o/log.txt; grep -h "${2:-differ}" $o/$1.err | tee -a $o/log.txt
  [ -f $o/$1.json ] && python3 -c 'import json,sys
j = json.load(open(sys.argv[1]))
if j.get("complete") is False:   # a bench stopped part way: the cells it finished, from its JSON
    print("the bench stopped after %d rows:" % len(j["rows"]))
    for r in j["rows"]:
        print("%s %d x %d: %.1f tok/s, %.2fx, %s" % (r["mode"], r["batch"], r["prompt_tokens"], r["decode_tokens_per_second"],
              r["speedup"], (r.get("differs") or {}).get("cell", "same tokens")))
for r in j["rows"]:
    seconds = ", prefill %.2f s of a %.2f s run" % (r["prefill_seconds"], r["run_seconds"]) if "run_seconds" in r else ""
    if r["mode"] == "none":
        print("none %d x %d: plain decoding%s" % (r["batch"], r["prompt_tokens"], seconds))
    else:
        print("%s %d x %d: %g rows moved, %.1f ms outside the rounds, %g graphs captured, %g new pass shapes%s" % (r["mode"], r["batch"],
              r["prompt_tokens"], r["row_moves"], r["ms_outside_rounds"], r.get("graphs_captured", 0), r.get("new_pass_shapes", 0), seconds))' \
    $o/$1.json | tee -a $o/log.txt; }
# an A/B of the working tree's app against the base app (pack.sh BASE_COMMIT; install.sh unpacks both), app, base, app,
# base, each its own export cache (an export's cache keys on the exporter's version, which a change may keep): ab_runs NAME
# CONDENSA_ARGS... ($o/NAME-app-1.out/.json, NAME-base-1, NAME-app-2, NAME-base-2; TMO bounds each run)
APPS=("app:$C" "base:env CONDENSA_CACHE=/tmp/ccache-base $BASE")
ab_runs() { local name=$1; shift
  [ -d "$cc/base" ] || { log "no base app: pack.sh BASE_COMMIT, then install.sh with BASE=1"; exit 3; }
  for r in 1 2; do
    for v in "${APPS[@]}"; do
      run $name-${v%%:*}-$r ${v#*:} "$@" --json $o/$name-${v%%:*}-$r.json
      show_rows $name-${v%%:*}-$r
    done
  done; }
# Nsight Compute's time of every kernel of a command, uncaptured, cut into passes (kernel_times.py --kinds: $o/NAME-kinds.txt)
# and summed per kernel (ncu_by_kernel.py: $o/NAME-kernels.txt); the raw CSV kept as xz: ncu_passes NAME COMMAND...
ncu_passes() { local name=$1; shift
  run $name-ncu $NCU --csv --page raw --metrics gpu__time_duration.sum --clock-control none --log-file $o/ncu-$name.csv "$@"
  python3 "$root/tools/device/cuda/kernel_times.py" $o/ncu-$name.csv ncu-$name --kinds | tee $o/$name-kinds.txt
  python3 "$root/tools/device/cuda/ncu_by_kernel.py" $o/ncu-$name.csv | tee $o/$name-kernels.txt; xz -9 $o/ncu-$name.csv; }
# a random-weight export's self-speculation rounds at γ = 3 against plain decoding (64 new tokens, traced: what a round
# costs, not what it accepts), then predict_speedup.py with round 18's trained demo pair's acceptance, static batch and
# full batch: cost_side NAME EXPORT_DIR GRID ARGS
cost_side() { local name=$1 dir=$2; shift 2
  run $name $C bench --speculative none,self -m $dir --provider cuda "$@" --max-tokens 64 --runs 1 --gamma 3 $(prompt_texts) \
    --json $o/$name.json --trace $o/$name.jsonl
  show_rows $name
  local r18=$root/tools/bench/results/cuda-h200/round18/a-grid   # absent where the results were moved out of the call's tree
  if [ -f $r18/grid12-3.json ]; then
    python3 "$root/tools/bench/predict_speedup.py" --cost $o/$name.json --acceptance $r18/grid12-3.json --cost-trace $o/$name.jsonl \
      --acceptance-trace $r18/grid12-3.jsonl.xz | tee -a $o/log.txt
  else
    log "round 18's files are not here: run predict_speedup.py on the development machine"
  fi
  xz -9 $o/$name.jsonl; }
# calibrate for a target's pairs, self (16 + 256 budget) and draft model (default demo-code and demo-code-draft), and the
# fits it printed: calibrate_pairs TMO "ARGS" [TARGET DRAFT]
calibrate_pairs() {
  TMO=$1 run cal-self $C calibrate -m ${3:-demo-code} $2 --sinks 16 --window ${WINDOW:-256} ${DRAFT_PRECISION:+--draft-precision $DRAFT_PRECISION}
  TMO=$1 run cal-draft $C calibrate -m ${3:-demo-code} --draft ${4:-demo-code-draft} $2 ${DRAFT_PRECISION:+--draft-precision $DRAFT_PRECISION}
  for f in $o/cal-*.out; do echo "-- $(basename $f)"; tail -n 25 $f; done | tee -a $o/log.txt; }
# copies of checkpoints in /tmp/m16 with transformers' linear rope scaling (factor 2) and max_position_embeddings 16,384,
# beside demo-code's tokenizer files (their tokenizer.from: ../demo-code): copies_16k DIR...
copies_16k() { local m
  rm -rf /tmp/m16 && mkdir -p /tmp/m16 && cp -r "$@" /tmp/m16/ && { [ -d /tmp/m16/demo-code ] || cp -r models/demo-code /tmp/m16/; }
  for m in "$@"; do python3 - /tmp/m16/$(basename $m)/config.json <<'PY'
import json, sys
path = sys.argv[1]; c = json.load(open(path))
c["max_position_embeddings"] = 16384
c["rope_parameters"] = {"rope_type": "linear", "rope_theta": c["rope_parameters"]["rope_theta"], "factor": 2.0}
json.dump(c, open(path, "w"), indent=2)
PY
  done; }
demo_grid() {   # demo_grid EXTRA_PROVIDER_ARGS
  local P="--provider cuda --precision fp16 $1" G="--batch ${SPEC_BATCH:-1,8,32} --context ${SPEC_CTX:-1024,7936}"
  calibrate_pairs 60 "$P $G"
  TMO=${SPEC_TMO:-270} run spec $C bench --speculative ${SPEC_MODES:-none,self,draft,lookup,tree-self,tree-draft} -m demo-code \
    --draft demo-code-draft $P $G --max-tokens 128 --runs 1 $(prompt_texts) --json $o/spec.json --chart $o/spec.svg
  grep -E '^\|' $o/spec.out | tee -a $o/log.txt
}
big_grid() {   # big_grid EXTRA_PROVIDER_ARGS
  wait_export; local G="--batch 1,32 --context 1024,7936"
  TMO=90 run cal-big $C calibrate -m /tmp/r/fp16 --provider cuda $1 --sinks 16 --window 256 $G
  TMO=200 run spec-big $C bench --speculative none,self,lookup -m /tmp/r/fp16 --provider cuda $1 $G --max-tokens 64 --runs 1 \
    $(prompt_texts) --json $o/spec-big.json
  grep -E '^\|' $o/spec-big.out | tee -a $o/log.txt
}
big_self() {   # self-speculation against plain decoding on the 1.1B shape at 32 x 1,024 and 7,936, γ = 3
  wait_export
  for c in 1024 7936; do
    TMO=100 run big-self-$c $C bench --speculative none,self -m /tmp/r/fp16 --provider cuda --batch 32 --context $c --max-tokens 48 --runs 1 \
      --gamma 3 $(prompt_texts) --json $o/big-self-$c.json
  done
}
arch_bench() {   # arch_bench NAME (qwen3, gemma3, phi4)
  [ -f /tmp/r/$1/condensa.json ] && TMO=150 run arch-$1 $C bench --provider cuda --runs 3 --decode-steps 32 --prefill-tokens 512 \
    --bandwidth ${BW:-4362} -m /tmp/r/$1 --batch 1,32 --context 512,2048 --json $o/arch-$1.json
  grep -E '^\| /tmp' $o/arch-$1.out | tee -a $o/log.txt
}

# QUICK=8 (round 8's first call): the multi-row causal graph (exporter 9) takes chains at batch > 1. Greedy parity of
# every speculative mode at batch 8 on the float16 demo models (their verifications run that graph; should capture fail,
# the rest of the call runs uncaptured and the log says so), the 1.1B cost grid, the qwen3-0.6b and gemma-3-1b shapes.
if [ "${QUICK:-0}" = 8 ]; then
  X=""; S="bench --speculative none,self,draft,lookup,tree-self -m demo-code --draft demo-code-draft --provider cuda --precision fp16"
  TMO=120 run parity $C $S --batch 8 --context 1024 --max-tokens 64 --runs 1 $(prompt_texts) || { X="--graph-capture off"
    log "CAPTURE FAILED: uncaptured from here"; TMO=120 run parity-nocap $C $S $X --batch 8 --context 1024 --max-tokens 64 --runs 1 $(prompt_texts); }
  grep -E '^\|' $o/parity*.out | tee -a $o/log.txt
  big_grid "$X"; wait_export 3; arch_bench qwen3; arch_bench gemma3
  exit 0
fi

# QUICK=9: a verification pass at 32 x 7,936 on the 1.1B shape with ONNX Runtime's default attention kernels, with
# sdpa_kernel=17 (flash and unfused only) and through the general graph (--fused-attention off); the family fixtures'
# transformers side ($OUT/family_e2e); the phi-4-mini shape; the demo grid.
if [ "${QUICK:-0}" = 9 ]; then
  wait_export
  V="bench --speculative none,self,lookup -m /tmp/r/fp16 --provider cuda --batch 32 --context 7936 --max-tokens 48 --runs 1 $(prompt_texts)"
  TMO=100 run verify-mea $C $V --json $o/verify-mea.json
  CONDENSA_CUDA_OPTIONS="sdpa_kernel=17" TMO=100 run verify-unfused $C $V --json $o/verify-unfused.json
  TMO=100 run verify-general $C $V --fused-attention off --json $o/verify-general.json
  grep -E '^\| (none|self|lookup)' $o/verify-*.out | tee -a $o/log.txt
  TMO=150 run family python3 tools/tokenizers/make_family_e2e_golden.py /tmp/family_e2e
  (cd /tmp && tar czf $out/family_e2e.tgz family_e2e)   # one file: a device call returns a limited number
  wait_export 4; arch_bench phi4; demo_grid
  exit 0
fi

# QUICK=10: plain and lookup on the 1.1B shape at 32 x 1,024 and 7,936 with the default kernels and with
# ORT_DISABLE_MEMORY_EFFICIENT_ATTENTION=1, then Nsight Compute's time of the attention-side kernels of uncaptured
# verification passes at 32 x 1,024 (ncu_by_kernel.py -> $o/ncu-verify.txt).
if [ "${QUICK:-0}" = 10 ]; then
  wait_export
  V="bench --speculative none,lookup -m /tmp/r/fp16 --provider cuda --batch 32 --max-tokens 32 --runs 1 $(prompt_texts)"
  for c in 1024 7936; do
    TMO=90 run v-default-$c $C $V --context $c
    ORT_DISABLE_MEMORY_EFFICIENT_ATTENTION=1 TMO=90 run v-nomea-$c $C $V --context $c
  done
  grep -E '^\| (none|lookup)' $o/v-*.out | tee -a $o/log.txt
  K="--csv --page raw --metrics gpu__time_duration.sum --clock-control none --kernel-name-base demangled --kernel-name regex:(?i)(fmha|flash|attention|attn|scatter|ungroup|softmax|concat|transpose|rotary|unfused|seqlen)"
  TMO=240 run ncu-verify $NCU $K --log-file $o/ncu-verify.csv $C bench --speculative lookup -m /tmp/r/fp16 --provider cuda --batch 32 \
    --context 1024 --max-tokens 6 --runs 1 --graph-capture off $(prompt_texts)
  python3 "$root/tools/device/cuda/ncu_by_kernel.py" $o/ncu-verify.csv > $o/ncu-verify.txt; head -45 $o/ncu-verify.txt | tee -a $o/log.txt
  exit 0
fi

# QUICK=11: the longrope golden (tools/train/golden_longrope.py -> $OUT/longrope), then the 1.1B cost grid and the demo
# grid with batch generation's cache sized up front (round 8's tables).
if [ "${QUICK:-0}" = 11 ]; then
  TMO=120 run longrope python3 tools/train/golden_longrope.py --out $out/longrope
  big_grid; demo_grid
  exit 0
fi

# QUICK=13 (issue 18): adaptive γ with plain decoding (γ = 0) among its choices, on the float16 demo models: plain, self,
# draft and lookup chains at batch 1 and 32 x 1,024 and 7,936 (chains need no calibration; the controller measures).
if [ "${QUICK:-0}" = 13 ]; then
  TMO=${SPEC_TMO:-200} run spec-auto $C bench --speculative none,self,draft,lookup -m demo-code --draft demo-code-draft --provider cuda \
    --precision fp16 --batch 1,32 --context 1024,7936 --max-tokens 128 --runs 1 $(prompt_texts) --json $o/spec-auto.json
  grep -E '^\|' $o/spec-auto.out | tee -a $o/log.txt
  exit 0
fi

# QUICK=14 (issue 18, exporter 10): the multi-row causal graph views a grouped-query model's queries as G·S rows per KV
# head under a causal bias. Greedy parity of every speculative mode at batch 8 on the float16 demo models; fixed-γ rounds
# (γ = 3: draft and verify ms per round) at 32 x 1,024 and 7,936 on the 1.1B shape and the demo models, with ONNX
# Runtime's kernel choice (memory-efficient attention, which takes a bias) and with ORT_DISABLE_MEMORY_EFFICIENT_ATTENTION=1
# (its unfused kernel: cuBLAS over the grouped rows); Nsight Compute's attention-side kernels of 32 x 1,024 verifications.
if [ "${QUICK:-0}" = 14 ]; then
  S="bench --speculative none,self,draft,lookup,tree-self -m demo-code --draft demo-code-draft --provider cuda --precision fp16"
  TMO=120 run parity $C $S --batch 8 --context 1024 --max-tokens 64 --runs 1 $(prompt_texts)
  grep -E '^\|' $o/parity.out | tee -a $o/log.txt
  wait_export
  for c in 1024 7936; do
    V="bench --speculative none,self,lookup -m /tmp/r/fp16 --provider cuda --batch 32 --context $c --max-tokens 48 --runs 1 --gamma 3 $(prompt_texts)"
    TMO=100 run big-mea-$c $C $V --json $o/big-mea-$c.json
    ORT_DISABLE_MEMORY_EFFICIENT_ATTENTION=1 TMO=100 run big-unfused-$c $C $V --json $o/big-unfused-$c.json
    D="bench --speculative none,self,draft,lookup -m demo-code --draft demo-code-draft --provider cuda --precision fp16 --batch 32 --context $c --max-tokens 128 --runs 1 --gamma 3 $(prompt_texts)"
    TMO=100 run demo-mea-$c $C $D --json $o/demo-mea-$c.json
    ORT_DISABLE_MEMORY_EFFICIENT_ATTENTION=1 TMO=100 run demo-unfused-$c $C $D --json $o/demo-unfused-$c.json
  done
  for f in $o/big-*.out $o/demo-*.out; do echo "-- $(basename $f)"; grep -E '^\| (none|self|draft|lookup)' $f; done | tee -a $o/log.txt
  K="--csv --page raw --metrics gpu__time_duration.sum --clock-control none --kernel-name-base demangled --kernel-name regex:(?i)(fmha|flash|attention|attn|scatter|ungroup|softmax|concat|transpose|rotary|unfused|seqlen|where|tile|cumsum|less)"
  for v in ${NCU_RUNS-mea unfused}; do   # NCU_RUNS="": no profile
    [ $v = unfused ] && export ORT_DISABLE_MEMORY_EFFICIENT_ATTENTION=1
    TMO=150 run ncu-$v $NCU $K --log-file $o/ncu-$v.csv $C bench --speculative lookup -m /tmp/r/fp16 --provider cuda --batch 32 \
      --context 1024 --max-tokens 6 --runs 1 --gamma 3 --graph-capture off $(prompt_texts)
    python3 "$root/tools/device/cuda/ncu_by_kernel.py" $o/ncu-$v.csv > $o/ncu-$v.txt; head -30 $o/ncu-$v.txt | tee -a $o/log.txt
  done
  exit 0
fi

# QUICK=15 (issue 18): round 9's grids, the 1.1B cost grid and the demo grid (every mode, planned by calibrate on cuda)
# at 1 and 32 x 1,024 and 7,936; RX="ORT_DISABLE_MEMORY_EFFICIENT_ATTENTION=1" runs them with the unfused kernel.
if [ "${QUICK:-0}" = 15 ]; then
  [ -n "${RX:-}" ] && export $RX && log "with $RX"
  SPEC_BATCH=${SPEC_BATCH:-1,32}; big_grid ""; demo_grid ""   # set -u: the functions read $1
  exit 0
fi

# QUICK=16 (issue 18): where chains at batch 32 leave plain decoding's tokens (bench logs how many rows differ and the
# earliest new token): demo-code at 32 x 1,024, γ = 3, as float16 (default kernels; unfused; uncaptured), float32
# through the causal graphs (--fused-attention on), and float16 at batch 8.
if [ "${QUICK:-0}" = 16 ]; then
  D="bench --speculative none,self,lookup -m demo-code --provider cuda --context 1024 --max-tokens 128 --runs 1 --gamma 3 $(prompt_texts)"
  TMO=90 run d16 $C $D --precision fp16 --batch 32
  ORT_DISABLE_MEMORY_EFFICIENT_ATTENTION=1 TMO=90 run d16-unfused $C $D --precision fp16 --batch 32
  TMO=90 run d16-nocap $C $D --precision fp16 --batch 32 --graph-capture off
  TMO=120 run d32-fused $C $D --precision fp32 --fused-attention on --batch 32
  TMO=90 run d16-b8 $C $D --precision fp16 --batch 8
  for f in $o/d*.out; do echo "-- $(basename $f)"; grep -E '^\| (none|self|lookup)' $f; grep -h 'differ' ${f%.out}.err; done | tee -a $o/log.txt
  exit 0
fi

# QUICK=17 (issue 18, round 9's grid when device time is short): the demo pair's chains with adaptive γ (the controller
# measures; no calibration) at 1 and 32 x 1,024 and 7,936: plain, self, draft, lookup.
if [ "${QUICK:-0}" = 17 ]; then
  demo_chains spec-auto
  exit 0
fi

# QUICK=18 (issues 16 and 18): cuDNN's SDPA (sdpa_kernel=8 through CONDENSA_CUDA_OPTIONS, every session of the process:
# the multi-row graph's grouped verification and GroupQueryAttention's decode) against the default (the unfused kernel for
# the multi-row graph) at γ = 3 on the 1.1B shape and the demo models at 32 x 1,024 and 7,936; Nsight Compute's attention
# kernels of a cuDNN 32 x 1,024 verification; then round 9's adaptive demo grid (QUICK=17) with the GammaController fix.
if [ "${QUICK:-0}" = 18 ]; then
  wait_export
  for c in 1024 7936; do
    V="bench --speculative none,self,lookup -m /tmp/r/fp16 --provider cuda --batch 32 --context $c --max-tokens 48 --runs 1 --gamma 3 $(prompt_texts)"
    TMO=100 run big-default-$c $C $V --json $o/big-default-$c.json
    CONDENSA_CUDA_OPTIONS="sdpa_kernel=8" TMO=100 run big-cudnn-$c $C $V --json $o/big-cudnn-$c.json
  done
  D="bench --speculative none,self,draft,lookup -m demo-code --draft demo-code-draft --provider cuda --precision fp16 --batch 32 --context 7936 --max-tokens 128 --runs 1 --gamma 3 $(prompt_texts)"
  TMO=100 run demo-default-7936 $C $D --json $o/demo-default-7936.json
  CONDENSA_CUDA_OPTIONS="sdpa_kernel=8" TMO=100 run demo-cudnn-7936 $C $D --json $o/demo-cudnn-7936.json
  for f in $o/big-*.out $o/demo-*.out; do echo "-- $(basename $f)"; grep -E '^\| (none|self|draft|lookup)' $f; done | tee -a $o/log.txt
  K="--csv --page raw --metrics gpu__time_duration.sum --clock-control none --kernel-name-base demangled --kernel-name regex:(?i)(fmha|flash|sdpa|attention|attn|scatter|softmax|transpose|rotary|unfused|seqlen|gemm|nvjet)"
  CONDENSA_CUDA_OPTIONS="sdpa_kernel=8" TMO=150 run ncu-cudnn $NCU $K --log-file $o/ncu-cudnn.csv $C bench --speculative lookup -m /tmp/r/fp16 \
    --provider cuda --batch 32 --context 1024 --max-tokens 6 --runs 1 --gamma 3 --graph-capture off $(prompt_texts)
  python3 "$root/tools/device/cuda/ncu_by_kernel.py" $o/ncu-cudnn.csv > $o/ncu-cudnn.txt; head -30 $o/ncu-cudnn.txt | tee -a $o/log.txt
  demo_chains spec-auto
  exit 0
fi

# QUICK=19 (issue 18): round 9's adaptive demo grid (QUICK=17) with GammaController's second fix (a γ counts from its
# second measurement; a round without drafts counts as a plain pass); then where self-speculation's draft rounds go on
# the 1.1B shape at 32 x 1,024, γ = 3: captured (the default) and uncaptured, and ONNX Runtime profiles of the captured
# run (every run that was not a replay has node events: prefill, the budget's KV writes, uncaptured passes).
if [ "${QUICK:-0}" = 19 ]; then
  demo_chains spec-auto
  wait_export
  V="bench --speculative none,self -m /tmp/r/fp16 --provider cuda --batch 32 --context 1024 --max-tokens 24 --runs 1 --gamma 3 $(prompt_texts)"
  TMO=100 run self-captured $C $V
  TMO=100 run self-uncaptured $C $V --graph-capture off
  CONDENSA_ORT_PROFILE=$o/prof/self TMO=150 run self-profiled $C $V
  for f in $o/self-*.out; do echo "-- $(basename $f)"; grep -E '^\| (none|self)' $f; done | tee -a $o/log.txt
  python3 "$root/tools/device/cuda/profile_summary.py" $o/prof | tee $o/prof-summary.txt
  for f in $o/prof/*.json; do xz -9 "$f"; done
  exit 0
fi

# QUICK=20 (issue 18): after the budget's in-pass ring writes and GammaController's second fix: self-speculation's draft
# rounds on the 1.1B shape (32 x 1,024 and 7,936, γ = 3; QUICK=19 measured 17 ms a round before) and on demo-code (32 x
# 7,936, γ = 3); then the demo grid with γ adaptive and fixed at 1 and 2 (the planner against the best fixed choice).
if [ "${QUICK:-0}" = 20 ]; then
  big_self
  TMO=100 run demo-self-7936 $C bench --speculative none,self -m demo-code --provider cuda --precision fp16 --batch 32 --context 7936 \
    --max-tokens 128 --runs 1 --gamma 3 $(prompt_texts) --json $o/demo-self-7936.json
  for f in $o/big-self-*.out $o/demo-self-*.out; do echo "-- $(basename $f)"; grep -E '^\| (none|self)' $f; done | tee -a $o/log.txt
  demo_chains grid-auto; demo_chains grid-1 --gamma 1; demo_chains grid-2 --gamma 2
  exit 0
fi

# QUICK=21 (issue 18): the demo grid with γ adaptive after GammaController's third change (it explores with a plain pass
# and γ = 1), and with γ fixed at 3 (QUICK=20 has γ = 1 and 2 on the same prompts).
if [ "${QUICK:-0}" = 21 ]; then
  demo_chains grid-auto; demo_chains grid-3 --gamma 3
  exit 0
fi

# QUICK=22 (issue 18): parity of every mode at batch 8 on the demo models, verification at γ = 3 on the 1.1B shape
# (32 x 1,024 and 7,936) and demo-code (32 x 7,936), then the adaptive grid. Round 10 ran it with
# tools/bench/results/cuda-h200/round10/f-gqa-chunks-rejected/gqa-chunks.patch applied (the multi-row causal graph as
# GroupQueryAttention with query_seqlens): verification took twice as long, so the patch was not kept.
if [ "${QUICK:-0}" = 22 ]; then
  TMO=120 run parity $C bench --speculative none,self,draft,lookup,tree-self -m demo-code --draft demo-code-draft --provider cuda \
    --precision fp16 --batch 8 --context 1024 --max-tokens 64 --runs 1 $(prompt_texts)
  grep -E '^\|' $o/parity.out | tee -a $o/log.txt
  wait_export
  for c in 1024 7936; do
    TMO=100 run big-$c $C bench --speculative none,self,lookup -m /tmp/r/fp16 --provider cuda --batch 32 --context $c --max-tokens 48 \
      --runs 1 --gamma 3 $(prompt_texts) --json $o/big-$c.json
  done
  TMO=100 run demo-7936 $C bench --speculative none,self,draft,lookup -m demo-code --draft demo-code-draft --provider cuda --precision fp16 \
    --batch 32 --context 7936 --max-tokens 128 --runs 1 --gamma 3 $(prompt_texts) --json $o/demo-7936.json
  for f in $o/big-*.out $o/demo-*.out; do echo "-- $(basename $f)"; grep -E '^\| (none|self|draft|lookup)' $f; done | tee -a $o/log.txt
  demo_chains spec-auto
  exit 0
fi

# QUICK=24 (issue 18, the next round's grid): the demo pair's chains over 512 new tokens (the planner's exploration and
# probes amortised as in a long generation), adaptive and at γ = 1 and 3.
if [ "${QUICK:-0}" = 24 ]; then
  export CHAIN_TOKENS=512 CHAIN_CTX=1024,7680 SPEC_TMO=${SPEC_TMO:-280}   # 7,680-token prompts leave room for 512 tokens
  demo_chains grid512-auto; demo_chains grid512-1 --gamma 1; demo_chains grid512-3 --gamma 3
  exit 0
fi

# QUICK=25 (issue 16, exporter 11): layer-condensed models' decode steps on their causal graph (Attention over the source
# layer's cache, captured). Greedy parity of demo-code-lckv as float16 (200 tokens: cpu, cuda, cuda on the general graph,
# cuda uncaptured; extract --batch 8, ragged rows, cpu against cuda); then at one KV budget the standard model at the
# largest batch it fits beside the LCKV model at its own (the 1.1B shape at 4 GiB, install.sh's EXPORTS="fp16 lckv"; the
# demo pair at 1 GiB), 2K and 8K, and the LCKV graph on the general graph for the A/B.
if [ "${QUICK:-0}" = 25 ]; then
  $C export --checkpoint models/demo-code-lckv --out /tmp/r/lckv16 --precision fp16 > $o/lckv16-export.log 2>&1
  $C export --checkpoint models/demo-code --out /tmp/r/demo16 --precision fp16 > $o/demo16-export.log 2>&1
  for v in "cpu:--provider cpu" "cuda:--provider cuda" "cuda-general:--provider cuda --fused-attention off" "cuda-nograph:--provider cuda --graph-capture off"; do
    run l16-${v%%:*} $C generate --model /tmp/r/lckv16 --prompt 'def fibonacci(n):' --max-tokens 200 --temperature 0 --json ${v#*:}
  done
  python3 "$root/tools/device/cuda/first_diff.py" $o l16-cpu l16-cuda l16-cuda-general l16-cuda-nograph | tee -a $o/log.txt
  extract_parity le16 /tmp/r/lckv16
  B="bench --provider cuda --runs 5 --decode-steps 32 --prefill-tokens 512 --bandwidth ${BW:-4362}"
  TMO=200 run lckv-demo $C $B -m /tmp/r/demo16 -m /tmp/r/lckv16 --batch 1 --context 2048,8000 --kv-budget 1073741824 --at-budget --in-process --json $o/lckv-demo.json
  for i in $(seq 150); do grep -q lckv /tmp/r/export.done 2>/dev/null && break; sleep 2; done
  TMO=300 run lckv-big $C $B -m /tmp/r/fp16 -m /tmp/r/lckv --batch 1 --context 2048,8192 --kv-budget 4294967296 --at-budget --in-process \
    --json $o/lckv-big.json
  TMO=300 run lckv-big-general $C $B -m /tmp/r/lckv --fused-attention off --batch 1 --context 2048,8192 --kv-budget 4294967296 --at-budget \
    --json $o/lckv-big-general.json
  for f in $o/lckv-*.out; do echo "-- $(basename $f)"; grep -E '^\| /tmp' $f; grep -E 'provider' ${f%.out}.err | head -3; done | tee -a $o/log.txt
  exit 0
fi

# QUICK=26 (issue 18): the demo pair's chains over 512 new tokens at batch 1, 8, 32 and 64 x prompts of 1,024, 4,096 and
# 7,680 tokens, adaptive and at γ = 3, with the speedup chart: how speedup moves with batch and context.
if [ "${QUICK:-0}" = 26 ]; then
  export CHAIN_TOKENS=512 CHAIN_CTX=1024,4096,7680 CHAIN_BATCH=1,8,32,64 SPEC_TMO=${SPEC_TMO:-240}
  demo_chains grid12-auto; demo_chains grid12-3 --gamma 3
  exit 0
fi

# QUICK=27 (issue 18): QUICK=26's adaptive grid for plain decoding, draft-model chains and prompt lookup, with every
# round traced (bench --trace): what the planner chose, round by round, where adaptive lookup fell behind γ = 3.
if [ "${QUICK:-0}" = 27 ]; then
  export CHAIN_TOKENS=512 CHAIN_CTX=1024,4096,7680 CHAIN_BATCH=1,8,32,64 SPEC_TMO=${SPEC_TMO:-240}
  TMO=$SPEC_TMO run trace-auto $C bench --speculative none,draft,lookup -m demo-code --draft demo-code-draft --provider cuda --precision fp16 \
    --batch $CHAIN_BATCH --context $CHAIN_CTX --max-tokens $CHAIN_TOKENS --runs 1 $(prompt_texts) --json $o/trace-auto.json --trace $o/trace-auto.jsonl
  grep -E '^\|' $o/trace-auto.out | tee -a $o/log.txt
  exit 0
fi

# QUICK=28 (issues 16 and 18, exporter 12): the slots graph takes the passes the causal graphs cannot (self-speculation's
# draft steps over the sink + window budget, token trees at batch > 1). Greedy parity of every mode at batch 8 on the demo
# models, then self-speculation against plain decoding over QUICK=26's grid at γ = 3 and adaptive, every round traced.
if [ "${QUICK:-0}" = 28 ]; then
  TMO=120 run parity $C bench --speculative none,self,draft,lookup,tree-self,tree-draft -m demo-code --draft demo-code-draft --provider cuda \
    --precision fp16 --batch 8 --context 1024 --max-tokens 64 --runs 1 $(prompt_texts)
  grep -E '^\|' $o/parity.out | tee -a $o/log.txt
  G="--batch 1,8,32,64 --context 1024,4096,7680 --max-tokens 512 --runs 1"
  for g in 3 auto; do
    TMO=${SPEC_TMO:-200} run self-$g $C bench --speculative none,self -m demo-code --provider cuda --precision fp16 $G \
      $([ $g = auto ] || echo --gamma $g) $(prompt_texts) --json $o/self-$g.json --chart $o/self-$g.svg --trace $o/self-$g.jsonl
    echo "-- self-$g" | tee -a $o/log.txt; grep -E '^\|' $o/self-$g.out | tee -a $o/log.txt; grep -h 'differ' $o/self-$g.err | tee -a $o/log.txt
  done
  exit 0
fi

# QUICK=29 (issue 18, exporter 12): the 1.1B shape's self-speculation rounds on the slots graph (round 10: 13.03 and 14.11
# ms of drafting a γ = 3 round at 32 x 1,024 and 7,936 on the general graph), and the trees at batch 8 and 32 on the demo
# pair (they ran the general graph before).
if [ "${QUICK:-0}" = 29 ]; then
  big_self
  TMO=${SPEC_TMO:-200} run trees $C bench --speculative none,tree-self,tree-draft -m demo-code --draft demo-code-draft --provider cuda \
    --precision fp16 --batch 1,8,32 --context 1024,7680 --max-tokens 256 --runs 1 $(prompt_texts) --json $o/trees.json
  for f in $o/big-self-*.out $o/trees.out; do echo "-- $(basename $f)"; grep -E '^\|' $f; grep -h 'differ' ${f%.out}.err; done | tee -a $o/log.txt
  exit 0
fi

# QUICK=30 (issue 18, exporter 12): where a self-speculation round's time goes on cuda. The demo model at 32 x 7,680,
# γ = 3, uncaptured with ONNX Runtime profiles (one file a session: the slots graph's draft steps, the multi-row causal
# graph's verification, the causal graph's plain steps), captured beside it; then the 1.1B shape's self rounds (big_self).
if [ "${QUICK:-0}" = 30 ]; then
  V="bench --speculative none,self -m demo-code --provider cuda --precision fp16 --batch 32 --context 7680 --max-tokens 64 --runs 1 --gamma 3 $(prompt_texts)"
  TMO=100 run demo-self-captured $C $V
  CONDENSA_ORT_PROFILE=$o/prof/demo TMO=100 run demo-self-profiled $C $V --graph-capture off
  python3 "$root/tools/device/cuda/profile_summary.py" $o/prof | tee $o/prof-summary.txt
  for f in $o/prof/*.json; do xz -9 "$f"; done
  big_self
  for f in $o/demo-self-*.out $o/big-self-*.out; do echo "-- $(basename $f)"; grep -E '^\| (none|self)' $f; grep -h 'differ' ${f%.out}.err; done | tee -a $o/log.txt
  exit 0
fi

# QUICK=31 (issue 18): after rounds of the root alone became plain decoding steps (SpeculativeDecodeStep.PlainRound):
# QUICK=26's adaptive grid, the plan column naming the γ the rounds took; then the 1.1B shape's self-speculation at
# 32 x 7,936, adaptive, over 128 new tokens.
if [ "${QUICK:-0}" = 31 ]; then
  export CHAIN_TOKENS=512 CHAIN_CTX=1024,4096,7680 CHAIN_BATCH=1,8,32,64 SPEC_TMO=${SPEC_TMO:-240}
  demo_chains grid12-auto
  wait_export
  TMO=150 run big-self-auto $C bench --speculative none,self -m /tmp/r/fp16 --provider cuda --batch 32 --context 7936 --max-tokens 128 --runs 1 \
    $(prompt_texts) --json $o/big-self-auto.json
  grep -E '^\| (none|self)' $o/big-self-auto.out | tee -a $o/log.txt
  exit 0
fi

# QUICK=32 (issue 16, when device time is short): plain decoding on the 1.1B fp16 export beside llama.cpp's CUDA build on
# the same shape in the same call (install.sh with GGUF=1; peers.sh STAGE_ONLY=1 unpacks llama.cpp): llama-bench tg32 at
# depth 512 and 2,048, then condensa bench at batch 1 and 32 x 512 / 2,048.
if [ "${QUICK:-0}" = 32 ]; then
  for i in $(seq 90); do [ -s /tmp/g/done ] && break; sleep 2; done; log "gguf: $(cat /tmp/g/done 2>/dev/null | tr '\n' ' ')"
  export CUDA_CACHE_PATH=/tmp/nvcache CUDA_CACHE_MAXSIZE=4294967296   # the PTX compiled once by the driver
  (cd /opt/lc && TMO=150 run llama-tg ./llama-bench -m /tmp/g/f16.gguf -p 0 -n 32 -d 512,2048 -ngl 99 -r 3 -o md)
  cat $o/llama-tg.out | tee -a $o/log.txt
  wait_export
  TMO=200 run plain-big $C bench --provider cuda --runs 3 --decode-steps 32 --prefill-tokens 512 --bandwidth ${BW:-4362} -m /tmp/r/fp16 \
    --batch 1,32 --context 512,2048 --json $o/plain-big.json
  grep -E '^\|' $o/plain-big.out | tee -a $o/log.txt
  exit 0
fi

# QUICK=33 (issue 18): prompt lookup's adaptive grid beside γ = 3, plain decoding in both. Round 12 ran it with the planner
# pricing padded verification passes (tools/bench/results/cuda-h200/round12/g-padded-verify-rejected/padded-verify.patch):
# no better, so the patch was not kept.
if [ "${QUICK:-0}" = 33 ]; then
  for g in auto 3; do
    TMO=${SPEC_TMO:-100} run lookup-$g $C bench --speculative none,lookup -m demo-code --provider cuda --precision fp16 --batch 1,8,32,64 \
      --context 1024,4096,7680 --max-tokens 512 --runs 1 $([ $g = auto ] || echo --gamma $g) $(prompt_texts) --json $o/lookup-$g.json
    echo "-- lookup-$g" | tee -a $o/log.txt; grep -E '^\| (none|lookup)' $o/lookup-$g.out | tee -a $o/log.txt
  done
  exit 0
fi

# QUICK=34 (issue 16, exporter 13): plain decoding on the 1.1B fp16 shape beside llama.cpp in one call (llama-bench before
# and after), four ways: the causal graph's MLP as one com.microsoft SwiGLU over the unsplit gate/up GEMM (the default)
# and as exported before (install.sh EXPORTS=fp16off: --swiglu off, a Split per layer), each also with ONNX Runtime's
# GEMM auto-tuner (ORT_CUDA_GEMM_AUTO_TUNE=1: cuBLAS against its own small-M kernels).
if [ "${QUICK:-0}" = 34 ]; then
  for i in $(seq 90); do [ -s /tmp/g/done ] && break; sleep 2; done; log "gguf: $(cat /tmp/g/done 2>/dev/null | tr '\n' ' ')"
  export CUDA_CACHE_PATH=/tmp/nvcache CUDA_CACHE_MAXSIZE=4294967296
  (cd /opt/lc && TMO=150 run llama-tg ./llama-bench -m /tmp/g/f16.gguf -p 0 -n 32 -d 512,2048 -ngl 99 -r 5 -o md)
  cat $o/llama-tg.out | tee -a $o/log.txt
  wait_export 2
  B="bench --provider cuda --runs 3 --decode-steps 32 --prefill-tokens 512 --bandwidth ${BW:-4362} --batch 1,32 --context 512,2048"
  for v in fp16off fp16; do
    TMO=150 run plain-$v $C $B -m /tmp/r/$v --json $o/plain-$v.json
    ORT_CUDA_GEMM_AUTO_TUNE=1 TMO=150 run tuned-$v $C $B -m /tmp/r/$v --json $o/tuned-$v.json
  done
  for f in $o/plain-*.out $o/tuned-*.out; do echo "-- $(basename $f)"; grep -hE 'graph nodes|^\| /tmp' ${f%.out}.err $f; done | tee -a $o/log.txt
  (cd /opt/lc && TMO=150 run llama-tg2 ./llama-bench -m /tmp/g/f16.gguf -p 0 -n 32 -d 512,2048 -ngl 99 -r 5 -o md)
  cat $o/llama-tg2.out | tee -a $o/log.txt
  exit 0
fi

# QUICK=35 (issue 16, exporter 13): greedy parity after the SwiGLU change. demo-code as float16 (SwiGLU in its causal graphs)
# on cpu (which now runs its general graph), cuda and cuda uncaptured, 200 tokens; extract --batch 8 (ragged rows); the
# 1.1B fp16 export on cuda captured, uncaptured, on its general graph (no SwiGLU) and exported without SwiGLU (EXPORTS=fp16off),
# 64 tokens; then Nsight Compute's kernel times of uncaptured decode passes at batch 1 and 32 x 512 (kernel_times.py).
if [ "${QUICK:-0}" = 35 ]; then
  demo16_parity c16 "cpu:--provider cpu" "cuda:--provider cuda" "cuda-nograph:--provider cuda --graph-capture off"
  extract_parity e16 /tmp/r/demo16
  wait_export 2; p='def fibonacci(n):'
  for v in "cuda:-m /tmp/r/fp16" "cuda-nograph:-m /tmp/r/fp16 --graph-capture off" "cuda-general:-m /tmp/r/fp16 --fused-attention off" "cuda-off:-m /tmp/r/fp16off"; do
    run big-${v%%:*} $C generate --model ${v#*:-m } --prompt "$p" --max-tokens 64 --temperature 0 --json --provider cuda
  done
  python3 "$root/tools/device/cuda/first_diff.py" $o big-cuda big-cuda-nograph big-cuda-general big-cuda-off | tee -a $o/log.txt
  kernel_times
  exit 0
fi

# QUICK=36 (issue 18): beside QUICK=31's adaptive grid, the same 12 cells at γ = 3 (the planner's fixed reference) and the
# token trees (self and draft, sized by the planner) over them, 512 new tokens, one run a cell. TREE_CTX=1024,4096,7424: the
# trees alone at those prompt lengths (round 13 g, after a tree near the context limit overflowed the draft's cache at 7,680).
if [ "${QUICK:-0}" = 36 ]; then
  export CHAIN_TOKENS=512 CHAIN_CTX=1024,4096,7680 CHAIN_BATCH=1,8,32,64 SPEC_TMO=${SPEC_TMO:-200}
  [ -n "${TREE_CTX:-}" ] || demo_chains grid12-3 --gamma 3
  TMO=$SPEC_TMO run trees12 $C bench --speculative none,tree-self,tree-draft -m demo-code --draft demo-code-draft --provider cuda \
    --precision fp16 --batch $CHAIN_BATCH --context ${TREE_CTX:-$CHAIN_CTX} --max-tokens $CHAIN_TOKENS --runs 1 $(prompt_texts) --json $o/trees12.json
  echo "-- trees12" | tee -a $o/log.txt; grep -E '^\|' $o/trees12.out | tee -a $o/log.txt; grep -h 'differ' $o/trees12.err | tee -a $o/log.txt
  exit 0
fi

# QUICK=38 (issue 18): QUICK=31's adaptive grid and QUICK=36's γ = 3 grid in one call, every round traced (bench --trace,
# kept as .jsonl.xz): after disposed caches are kept for reuse (their CUDA graphs replay in the next run) and the planner
# prices a verification by the tokens its captured pass is padded to.
if [ "${QUICK:-0}" = 38 ]; then
  export CHAIN_TOKENS=512 CHAIN_CTX=1024,4096,7680 CHAIN_BATCH=1,8,32,64 SPEC_TMO=${SPEC_TMO:-240}
  demo_chains grid12-auto --trace $o/grid12-auto.jsonl
  demo_chains grid12-3 --gamma 3 --trace $o/grid12-3.jsonl
  xz -9 $o/*.jsonl
  # plain decoding three times in caches handed back and taken again: its row says whether runs 2 and 3 gave run 1's tokens
  TMO=120 run reuse-check $C bench --speculative none,lookup -m demo-code --provider cuda --precision fp16 --batch 32 --context 4096 \
    --max-tokens 128 --runs 3 $(prompt_texts) --json $o/reuse-check.json
  grep -E '^\|' $o/reuse-check.out | tee -a $o/log.txt; grep -h 'differ' $o/reuse-check.err | tee -a $o/log.txt
  exit 0
fi

# QUICK=43 (issue 18, exporter 16): what kv_write_entries saves. Every self-speculation round copies the target's entries
# of the accepted tokens into the budget (one kv_write run of 2 operators a tensor: 568 us uncaptured at batch 32 in round
# 12's profile). Self-speculation at γ = 3 at 32 and 64 x 7,680 with kv_write_entries off (CONDENSA_KV_WRITE_ENTRIES=0)
# and on, twice in turn, then self-speculation adaptive with it off and on; 256 new tokens, traced (the verify times carry
# the copy). Also the first grid with the budget's slack at a quarter of the window (Speculation.SelfBudget).
if [ "${QUICK:-0}" = 43 ]; then
  for r in 1 2; do for w in 0 1; do
    CONDENSA_KV_WRITE_ENTRIES=$w TMO=${SPEC_TMO:-150} run entries$w-self-r$r $C bench --speculative none,self -m demo-code --provider cuda \
      --precision fp16 --batch 32,64 --context 7680 --max-tokens 256 --runs 1 --gamma 3 $(prompt_texts) --json $o/entries$w-self-r$r.json \
      --trace $o/entries$w-self-r$r.jsonl
    show_rows entries$w-self-r$r
  done; done
  for w in 0 1; do
    CONDENSA_KV_WRITE_ENTRIES=$w TMO=${SPEC_TMO:-150} run entries$w-auto $C bench --speculative none,self -m demo-code --provider cuda --precision fp16 \
      --batch 32,64 --context 7680 --max-tokens 256 --runs 1 $(prompt_texts) --json $o/entries$w-auto.json --trace $o/entries$w-auto.jsonl
    show_rows entries$w-auto
  done
  xz -9 $o/*.jsonl
  exit 0
fi

# QUICK=44 (issue 18): MagicDec's regime on the cost side. tinyllama-1.1b-mha (install.sh EXPORTS="mha": TinyLlama's
# dimensions with a KV head per query head, 180 KB of KV a token, random weights) at batch 1, 8 and 32 x 1,024 and 7,680:
# plain decoding against self-speculation at γ = 3 (the random weights accept nothing: the run gives each round's draft
# and verify milliseconds, not a speedup), traced; then tools/bench/predict_speedup.py with the trained demo pair's
# acceptance at the same cells and γ (round 18 a's grid12-3; round 17's until session 42) turns them into the speedup a
# KV-heavy 1.1B pair that accepted as the demo pair does would see, in a static and a full batch.
if [ "${QUICK:-0}" = 44 ]; then
  wait_export 2 || true
  [ -f /tmp/r/mha/condensa.json ] || { log "no /tmp/r/mha: run install.sh with EXPORTS=mha"; exit 4; }
  TMO=${SPEC_TMO:-300} cost_side mha-3 /tmp/r/mha --batch 1,8,32 --context 1024,7680
  exit 0
fi

# QUICK=48 (issue 18): demo-code-mha's cost side before its training (install.sh EXPORTS="demo-mha": the random
# checkpoint of tools/train/common.py's preset, demo-code's parameters in 4 layers of 16 heads with a KV head each, 16 KB of
# KV a token). Plain decoding and self-speculation at γ = 3 over the demo pair's grid (batch 1, 8, 32, 64 x 1,024, 4,096,
# 7,680), 64 new tokens, traced; then predict_speedup.py with round 18's trained acceptance at the same cells, static and
# full batch. Where demo-code's step is bound by its launches (~40 % of it reading KV at 32 x 7,680), this one's should be
# bound by its KV.
if [ "${QUICK:-0}" = 48 ]; then
  wait_named_export demo-mha || true
  [ -f /tmp/r/dmha/condensa.json ] || { log "no /tmp/r/dmha: run install.sh with EXPORTS=demo-mha"; exit 4; }
  TMO=${SPEC_TMO:-330} cost_side dmha-3 /tmp/r/dmha --batch ${BATCHES:-1,8,32,64} --context ${CONTEXTS:-1024,4096,7680}
  exit 0
fi

# QUICK=50 (issue 18's acceptance call): every mode on the trained demo-code-mha (MODEL) with demo-code-draft (DRAFT) as
# the draft model, over batch 1, 8, 32, 64 x 1,024, 4,096, 7,680: `calibrate` for the self and draft pairs on this device
# first (the trees' sizes; a chain's γ comes from its own rounds' times), then bench with γ and tree size from the planner
# (SPEC_MODES may add pinned entries, self@12: the best fixed γ beside it), 256 new tokens,
# static batches (DOCS=3: each row takes three prompts in turn), traced, with the chart. PROMPTS (default here: heldout).
# PRECISION=fp32 runs the float32 exports (their GEMMs in float32 since 686fb56; with ONNX Runtime's default TF32 round 26
# parted rows there too, round 27 none without it: ~2.5x float16's time, so split the grid with BATCHES and CONTEXTS);
# CAL_TMO bounds each calibration (default 120 s); NO_CAL=1 skips them (chains need none). DRAFT_PRECISION=fp16 has the
# drafts run at that precision (calibrate and bench --draft-precision): self-speculation's by the model's own checkpoint,
# and from app 19ef6c8 on the draft model's too. WINDOW sets
# the self pair's sink + window budget's window (calibrate and bench --window; default 256); MAX_WINDOW bench's --max-window.
if [ "${QUICK:-0}" = 50 ]; then
  m=${MODEL:-models/demo-code-mha} d=${DRAFT:-demo-code-draft} PROMPTS=${PROMPTS:-heldout}
  P="--provider cuda --precision ${PRECISION:-fp16}" G="--batch ${BATCHES:-1,8,32,64} --context ${CONTEXTS:-1024,4096,7680}"
  [ -n "${NO_CAL:-}" ] || calibrate_pairs ${CAL_TMO:-120} "$P $G" $m $d
  TMO=${SPEC_TMO:-420} run all-modes $C bench --speculative ${SPEC_MODES:-none,self,draft,lookup,tree-self,tree-draft} -m $m --draft $d \
    ${DRAFT_PRECISION:+--draft-precision $DRAFT_PRECISION} $P $G --max-tokens ${NEW_TOKENS:-256} --runs 1 --documents-per-row ${DOCS:-1} \
    --window ${WINDOW:-256} ${MAX_WINDOW:+--max-window $MAX_WINDOW} $(prompt_texts) --json $o/all-modes.json \
    --chart $o/all-modes.svg --trace $o/all-modes.jsonl
  show_rows all-modes
  python3 "$root/tools/bench/trace_summary.py" $o/all-modes.jsonl --bench $o/all-modes.json > $o/all-modes-full-batch.md 2>&1
  xz -9 $o/*.jsonl
  exit 0
fi

# QUICK=51 (issue 18): demo-code-mha at 16K, where a plain step reads twice the KV of round 21's 8K and a self-speculation
# round's drafts run over the same 16 + 256 budget: a copy with linear rope scaling (factor 2, untrained at that
# length, so acceptance shows what the scaling keeps), plain decoding and self-speculation with the planner in a full
# batch (`--documents-per-row 3`, 512 new tokens) at BATCHES (32) x 15,872 tokens, traced.
if [ "${QUICK:-0}" = 51 ]; then
  PROMPTS=${PROMPTS:-heldout}; copies_16k models/demo-code-mha
  TMO=${SPEC_TMO:-240} run ctx16k-mha $C bench --speculative none,self -m /tmp/m16/demo-code-mha --provider cuda --precision fp16 \
    --batch ${BATCHES:-32} --context 15872 --max-tokens 512 --runs 1 --documents-per-row 3 $(prompt_texts) --json $o/ctx16k-mha.json \
    --trace $o/ctx16k-mha.jsonl
  show_rows ctx16k-mha
  python3 "$root/tools/bench/trace_summary.py" $o/ctx16k-mha.jsonl --bench $o/ctx16k-mha.json | tee -a $o/log.txt
  xz -9 $o/*.jsonl
  exit 0
fi

# QUICK=67 (issue 18): how fast cuBLAS reads a float32 decode step's cache by the form of attention's two products
# (gemv_forms.py, torch, TF32 off: the scores as a GEMV, element-wise and as a GEMM over a block-diagonal query; the values
# whole and in chunks) at 32 x 8,192 and 64 x 4,096 slots, float32 and float16; the card's read bandwidth first (round 28).
# Then (ROWS, default 2,4,13) float32 at 32 x 8,192 with that many query rows a head: a grouped-query model's one-token
# step (G = 2 for demo-code, 4, ...) and a γ = 12 verification, each slot-major form with its transpose to [R, C] (+t):
# whether exporter 18's block form would pay beyond one row.
if [ "${QUICK:-0}" = 67 ]; then
  hbm_bandwidth
  for s in "32 8192 float32 1" "64 4096 float32 1" "32 8192 float16 1" $(for r in $(echo ${ROWS:-2,4,13} | tr , ' '); do echo "32:8192:float32:$r"; done); do
    set -- $(echo $s | tr : ' '); python3 "$root/tools/device/cuda/gemv_forms.py" --batch $1 --slots $2 --dtype $3 --rows $4 2>&1 | tee -a $o/gemv-forms.txt
  done
  exit 0
fi

# QUICK=72 (issue 18): a change to the float32 slots graph's passes of few rows (round 33: a chunked form, d3f901d,
# reverted; round 34: exporter 20's chunked values' product, e24e83e, against f8e5908) against the base app (pack.sh
# BASE_COMMIT, install.sh with BASE=1; ab_runs): plain decoding, self (the chain planner) and self@12 of demo-code-mha
# as float32 with float16 drafts at BATCHES (1,2,8) x CONTEXTS (1,024, 4,096, 7,680), NEW_TOKENS (256) new tokens, DOCS
# (2) documents a row, held-out prompts; app, base, app, base. NCU_ROWS (e.g. 8) then times every kernel of self@12 at
# that many rows x 4,096, 16 new tokens, uncaptured, for each app (ncu_passes: verify-app-kinds.txt,
# verify-base-kinds.txt): which kernels a change adds (round 34: NCU_ROWS=1 took ~110 s beside a one-cell A/B; NCU_ROWS=8
# with the whole A/B ran past 600 s).
if [ "${QUICK:-0}" = 72 ]; then
  PROMPTS=heldout; P=$(prompt_texts)
  S="-m ${MODEL:-models/demo-code-mha} --provider cuda --precision fp32 --draft-precision fp16 --runs 1 $P"
  TMO=${SPEC_TMO:-150} ab_runs chunks bench --speculative none,self,self@12 $S --batch ${BATCHES:-1,2,8} \
    --context ${CONTEXTS:-1024,4096,7680} --max-tokens ${NEW_TOKENS:-256} --documents-per-row ${DOCS:-2}
  if [ -n "${NCU_ROWS:-}" ]; then
    for v in "${APPS[@]}"; do
      TMO=300 ncu_passes verify-${v%%:*} ${v#*:} bench --speculative self@12 $S --batch $NCU_ROWS --context 4096 \
        --max-tokens 16 --graph-capture off
    done
  fi
  exit 0
fi

# QUICK=71 (issue 18): why a one-row verification grows with context (round 33: the float32 target's 13-token
# verification took 1.07 / 1.54 / 2.02 ms at one row x 1,024 / 4,096 / 7,680 tokens, where plain steps took 0.38 / 0.45 /
# 0.52 ms). Nsight Compute's time of every kernel of plain decoding and self@12 at one row x CONTEXT (7,680), 16 new tokens,
# uncaptured, cut into passes (ncu_passes: verify1-kinds.txt, verify1-kernels.txt); then gemv_forms.py at one row x CONTEXT
# slots with 1 and 13 query rows a head (attention's products by form, the plain form end to end).
if [ "${QUICK:-0}" = 71 ]; then
  PROMPTS=${PROMPTS:-heldout}
  TMO=300 ncu_passes verify1 $C bench --speculative none,self -m ${MODEL:-models/demo-code-mha} --provider cuda --precision \
    ${PRECISION:-fp32} --draft-precision fp16 --batch 1 --context ${CONTEXT:-7680} --max-tokens 16 --runs 1 --gamma 12 \
    $(prompt_texts) --graph-capture off
  for r in 1 13; do
    python3 "$root/tools/device/cuda/gemv_forms.py" --batch 1 --slots ${CONTEXT:-7680} --dtype float32 --rows $r 2>&1 \
      | grep -v 'Warning\|warn(\|Triggered\|ms = timed' | tee -a $o/gemv-forms.txt
  done
  exit 0
fi

# QUICK=70 (issue 16): how fast a 1.1B-shape decode step's GEMMs can read their weights at 1, 32 and 64 rows (ROWS), each
# layer's own weights, replayed as a CUDA graph, against the card's read bandwidth (gemm_shapes.py): cuBLAS in both weight
# layouts, and with GEMM_FLAGS (e.g. "--splitk --tunableop --compile") a split-K Triton kernel of our own, torch's TunableOp
# over cuBLASLt's algorithms and Inductor's max-autotune: whether the 32 x 512 step's GEMMs, ~half the bound under ONNX
# Runtime (round 13), can run nearer it, and with which kernels.
if [ "${QUICK:-0}" = 70 ]; then
  python3 "$root/tools/device/cuda/gemm_shapes.py" --rows ${ROWS:-1,32,64} ${GEMM_FLAGS:-} 2>&1 | tee -a $o/gemm-shapes.txt
  exit 0
fi

# QUICK=69 (issue 18): float32's prompt chunks on the slots graph (one row's pass of any length) against the base app's
# general graph: plain decoding of demo-code-mha as float32 at BATCHES (1,32) x CONTEXTS (1,024, 7,680), NEW_TOKENS (32)
# new tokens, one document a row, the two apps in turn, twice (bench prints each run's prefill seconds); then one ONNX
# Runtime profile of the app's prefill at one row of 7,680 (profile_summary.py: host time per operator).
if [ "${QUICK:-0}" = 69 ]; then
  PROMPTS=heldout; P=$(prompt_texts); m=${MODEL:-models/demo-code-mha}
  V="bench --speculative none -m $m --provider cuda --precision fp32 --max-tokens ${NEW_TOKENS:-32} --runs 1 --documents-per-row 1 $P"
  TMO=150 ab_runs prefill $V --batch ${BATCHES:-1,32} --context ${CONTEXTS:-1024,7680}
  CONDENSA_ORT_PROFILE=$o/prof/prefill TMO=150 run prefill-profiled $C $V --batch 1 --context 7680
  python3 "$root/tools/device/cuda/profile_summary.py" $o/prof | tee $o/prof-summary.txt; rm -f $o/prof/*.json
  exit 0
fi

# QUICK=68 (issue 18): an exporter change to float32's slots graph measured against the exporter before it, the app of
# the working tree against the base app (`pack.sh BASE_COMMIT`; install.sh unpacks both): plain decoding and self@12 on
# demo-code-mha as float32 at 32 x 7,680, 64 tokens, static, the two apps in turn, twice; the card's bandwidth first.
if [ "${QUICK:-0}" = 68 ]; then
  hbm_bandwidth
  PROMPTS=heldout; P=$(prompt_texts); m=${MODEL:-models/demo-code-mha}
  TMO=150 ab_runs fp32 bench --speculative none,self@12 -m $m --provider cuda --precision fp32 --batch 32 --context 7680 \
    --max-tokens 64 --runs 1 $P
  exit 0
fi

# QUICK=66 (issue 18): float32 with full float32 GEMMs. Round 26's float32 grid parted 1-3 rows of 24-192 at logits
# ~0.001 apart: ONNX Runtime runs float32 MatMuls in TF32 unless its use_tf32 option is 0 (Condensa's default since
# 686fb56, after this ran as round 27 a). demo-code-mha as float32 (MODEL), plain decoding and self@12 at 32 x 7,680, 64
# tokens, static, with TF32 and without, in turn (their speed); then every mode at BATCHES (8,32,64) x CONTEXTS
# (1024,4096) without TF32, three documents a row, 256 new tokens (round 26's cells that parted rows; the bench's JSON
# keeps each finished cell).
if [ "${QUICK:-0}" = 66 ]; then
  PROMPTS=heldout; P=$(prompt_texts); m=${MODEL:-models/demo-code-mha}
  for v in tf32:use_tf32=1 fp32:use_tf32=0; do
    CONDENSA_CUDA_OPTIONS=${v#*:} TMO=150 run speed-${v%%:*} $C bench --speculative none,self@12 -m $m --provider cuda --precision fp32 \
      --batch 32 --context 7680 --max-tokens 64 --runs 1 $P --json $o/speed-${v%%:*}.json
    show_rows speed-${v%%:*}
  done
  CONDENSA_CUDA_OPTIONS=use_tf32=0 TMO=${SPEC_TMO:-300} run grid-fp32 $C bench --speculative ${SPEC_MODES:-none,self,self@12,draft,lookup,tree-self,tree-draft} \
    -m $m --draft ${DRAFT:-demo-code-draft} --provider cuda --precision fp32 --batch ${BATCHES:-8,32,64} --context ${CONTEXTS:-1024,4096} \
    --max-tokens 256 --runs 1 --documents-per-row 3 $P --json $o/grid-fp32.json
  show_rows grid-fp32
  exit 0
fi

# QUICK=65 (issue 18): where float16's rows leave plain decoding's tokens. A plain step runs GroupQueryAttention's XQA
# kernel and GEMMs of one row a sequence; a verification runs the multi-row causal graph's flash kernel and GEMMs of 13
# rows a sequence, each rounding its own way, so near ties part. Plain decoding and self@12 at BATCHES (32,64) x 7,680,
# 128 new tokens, static, held-out prompts, under each of: the defaults; cuBLAS reducing split-K partial sums in float32
# (ONNX Runtime's ORT_CUDA_GEMM_OPTIONS=2) or pedantic (4: no reduced-precision paths); the plain step's attention off
# XQA (ORT_ENABLE_XQA=0: flash decoding, the verification's kernel family); the verification on the unfused kernel
# (CONDENSA_ROWS_ATTENTION_KERNELS=16). Read each variant's rows that differ and its tok/s. Then plain decoding's own
# dependence on the batch (below).
if [ "${QUICK:-0}" = 65 ]; then
  PROMPTS=heldout; P=$(prompt_texts); m=${MODEL:-models/demo-code-mha}
  for v in default ORT_CUDA_GEMM_OPTIONS=2 ORT_CUDA_GEMM_OPTIONS=4 ORT_ENABLE_XQA=0 CONDENSA_ROWS_ATTENTION_KERNELS=16 \
      ORT_CUDA_GEMM_OPTIONS=2,ORT_ENABLE_XQA=0; do
    n=$(echo $v | tr ',=' '-_'); envs=(); [ $v = default ] || IFS=, read -ra envs <<< "$v"
    TMO=${SPEC_TMO:-150} run parity-$n env "${envs[@]}" $C bench --speculative none,self@12 -m $m --provider cuda --precision fp16 \
      --batch ${BATCHES:-32,64} --context 7680 --max-tokens 128 --runs 1 $P --json $o/parity-$n.json
    show_rows parity-$n
  done
  # Plain decoding itself at batch 1, 8 and 64 over the same 64 documents (3,000 held-out characters each, 256 greedy
  # tokens): whether its tokens depend on the batch they decode in, beside self@12's at 64.
  python3 - > $o/held-docs.jsonl <<'PY'
import json
t = open("/tmp/heldout.txt").read()
for i in range(64):
    print(json.dumps({"id": f"h{i}", "text": t[i * 3000:(i + 1) * 3000]}))
PY
  printf '%s' '{{text}}' > $o/template.txt
  for v in plain-1:1:none plain-8:8:none plain-64:64:none self12-64:64:self; do
    IFS=: read -r n bsz mode <<< "$v"; g=; [ $mode = self ] && g="--gamma 12"
    TMO=150 run extract-$n $C extract --model $m --precision fp16 --provider cuda --input $o/held-docs.jsonl --prompt-template $o/template.txt \
      --output $o/extract-$n.jsonl --batch $bsz --max-tokens 256 --temperature 0 --speculative $mode $g
  done
  for n in plain-8 plain-64 self12-64; do records_equal extract-$n extract-plain-1 $o/extract-plain-1.jsonl $o/extract-$n.jsonl; done
  records_equal extract-self12-64 extract-plain-64 $o/extract-plain-64.jsonl $o/extract-self12-64.jsonl
  exit 0
fi

# QUICK=63 (issues 16 and 18): this card's HBM read bandwidth (hbm_bandwidth), then float32 on cuda. In float32 every row
# of speculation kept plain decoding's tokens (round 21 c, H200; not over round 26's grid: TF32), where float16's rows part at near ties, but plain decoding
# ran 6.7x slower than float16 at 32 x 7,680 for 2x the KV bytes. demo-code-mha (MODEL) as float16 and as float32: plain
# decoding and self@12 at 32 x 7,680, 64 new tokens, static, captured (float32 on the slots graph's unfused and
# memory-efficient attention and on its general graph alone); then, unless NO_PROFILE=1, float32's plain decoding
# uncaptured with ONNX Runtime's profile (profile_summary.py: host time per operator).
if [ "${QUICK:-0}" = 63 ]; then
  hbm_bandwidth
  PROMPTS=heldout; P=$(prompt_texts); m=${MODEL:-models/demo-code-mha}
  # NAME:SLOTS KERNELS:ARGS; fp32 takes the slots graph beside the general one (round 25) on its unfused attention (16)
  # or the memory-efficient kernel (2), or the general graph alone
  for v in "fp16:16:" "fp32:16:" "fp32-efficient:2:" "fp32-general:16:--fused-attention off"; do
    n=${v%%:*} k=${v#*:}; k=${k%%:*}; p=${n%%-*}
    CONDENSA_SLOTS_ATTENTION_KERNELS=$k TMO=150 run spec-$n $C bench --speculative none,self@12 -m $m --provider cuda --precision $p \
      --batch 32 --context 7680 --max-tokens 64 --runs 1 $P ${v##*:} --json $o/spec-$n.json
    show_rows spec-$n
  done
  [ -n "${NO_PROFILE:-}" ] && exit 0
  CONDENSA_ORT_PROFILE=$o/prof/fp32 TMO=150 run fp32-profiled $C bench --speculative none -m $m --provider cuda --precision fp32 \
    --batch 32 --context 7680 --max-tokens 16 --runs 1 $P --graph-capture off
  python3 "$root/tools/device/cuda/profile_summary.py" $o/prof | tee $o/prof-summary.txt; rm -f $o/prof/*.json
  exit 0
fi

# QUICK=73 (issue 18; written as a second QUICK=69, which the first shadowed): where float32's prefill time goes (68 % of
# a float32 grid cell's, round 28: every prompt is prefilled on the general graph in 512-token chunks, ~56 K tokens/s on
# an H100). demo-code-mha as float32 (MODEL), one row, PREFILL_CONTEXT (7,680) prompt tokens, 2 new tokens: first timed as
# bench runs it (prefill_seconds in the JSON: the wall time), then under Nsight Compute, uncaptured, its kernels by pass
# (kernel_times.py --kinds: a chunk's kernels and their sum against the wall time say whether the host or the GPU holds
# it) and by kernel (ncu_by_kernel.py).
if [ "${QUICK:-0}" = 73 ]; then
  PROMPTS=heldout; P=$(prompt_texts); m=${MODEL:-models/demo-code-mha}
  B="bench --speculative none -m $m --provider cuda --precision fp32 --batch 1 --context ${PREFILL_CONTEXT:-7680} --max-tokens 2 --runs 1 $P"
  TMO=150 run prefill-wall $C $B --json $o/prefill-wall.json; show_rows prefill-wall
  TMO=400 ncu_passes prefill $C $B --graph-capture off
  exit 0
fi

# QUICK=64 (issue 18): the GPU time of float32's plain decoding step per kernel (QUICK=63's profile gives host times):
# Nsight Compute over demo-code-mha as float32 (MODEL), 8 uncaptured steps at 32 x NCU_CONTEXT (default 1,024, where the
# prefill's kernels are few), cut into passes (kernel_times.py --kinds) and summed per kernel (ncu_by_kernel.py).
if [ "${QUICK:-0}" = 64 ]; then
  TMO=300 ncu_passes fp32 $C bench --speculative none -m ${MODEL:-models/demo-code-mha} --provider cuda --precision fp32 --batch 32 \
    --context ${NCU_CONTEXT:-1024} --max-tokens 8 --runs 1 --prompt-file tools/train/train.py --graph-capture off
  exit 0
fi

# QUICK=62: a check of a graph change on cuda with the tree a speculation call carries (tree.sh slim demo-code-mha
# demo-code-draft): demo-code-mha exported as float16, 200 greedy tokens on cpu, cuda (captured) and cuda without fused
# attention (the general graph), compared (first_diff.py); then every speculative mode at batch 1 and 8 on it (the trees
# at batch 8 run the slots graph), each row saying whether it kept plain decoding's tokens.
if [ "${QUICK:-0}" = 62 ]; then
  $C export --checkpoint ${MODEL:-models/demo-code-mha} --out /tmp/r/check16 --precision fp16 > $o/check16-export.log 2>&1
  names=()
  for v in "cpu:--provider cpu" "cuda:--provider cuda" "cuda-general:--provider cuda --fused-attention off"; do
    run check16-${v%%:*} $C generate --model /tmp/r/check16 --prompt 'def fibonacci(n):' --max-tokens 200 --temperature 0 --json ${v#*:}
    names+=("check16-${v%%:*}")
  done
  python3 "$root/tools/device/cuda/first_diff.py" $o "${names[@]}" | tee -a $o/log.txt
  SPECMODEL=/tmp/r/check16 spec check16-spec --provider cuda
  exit 0
fi

# QUICK=61 (issue 16): batch 32's GEMMs (round 13: 59 % of a 32 x 512 step, at about half the read bandwidth) with a
# larger cuBLAS workspace (CUBLAS_WORKSPACE_CONFIG=:4096:8, room for split-K kernels) against the default, the 1.1B fp16
# export at batch 32 x 512 / 2,048, one process each, twice in turn. Needs install.sh with BASE=1.
if [ "${QUICK:-0}" = 61 ]; then
  wait_export 1
  hbm_bandwidth; B="bench --provider cuda --runs 3 --decode-steps 32 --prefill-tokens 16 --bandwidth ${BW:-$bw} -m /tmp/r/fp16 --batch 32 --context 512,2048"
  for i in 1 2; do
    TMO=150 run gemm-default-$i $C $B --json $o/gemm-default-$i.json
    CUBLAS_WORKSPACE_CONFIG=:4096:8 TMO=150 run gemm-workspace-$i $C $B --json $o/gemm-workspace-$i.json
  done
  for f in $o/gemm-*.out; do echo "-- $(basename $f)"; grep -E '^\| /tmp' $f; done | tee -a $o/log.txt
  exit 0
fi

# QUICK=60 (issue 16's acceptance call): plain decoding on the 1.1B fp16 shape beside both peers in one call: llama-bench
# (the F16 GGUF of the same weights: pp512, tg32 at depth 512 / 2,048 / 8,192, 3 repetitions), condensa bench on cuda
# (batch 1 and 32 x 512 / 2,048 / 8,192, prefill 512), transformers (hf_peer.py, the same cells), llama-bench again.
# Needs install.sh with BASE=1 GGUF=1 (the export and the GGUFs, in the background) and llama.cpp in /opt/lc (peers.sh's,
# or carry .cuda/c/lc.tar.xz in this call). A machine's first llama-bench has the driver compile llama.cpp's sm_90 PTX
# (CUDA_CACHE_PATH keeps it): the call's time, not the bench's. The bench's share of the bound takes this card's measured
# read bandwidth (hbm_bandwidth; BW overrides it): round 25's call took the H200's 4,362 GB/s on an H100 of ~3,100.
if [ "${QUICK:-0}" = 60 ]; then
  hbm_bandwidth; bw=${BW:-$bw}
  [ -x /opt/lc/llama-bench ] || { mkdir -p /opt/lc && tar xJf "$root/.cuda/c/lc.tar.xz" -C /opt/lc; } || { log "no llama.cpp: carry .cuda/c/lc.tar.xz"; exit 4; }
  for i in $(seq 120); do [ "$(wc -l < /tmp/g/done 2>/dev/null)" -ge 1 ] && break; sleep 2; done; log "gguf: $(cat /tmp/g/done 2>/dev/null | tr '\n' ' ')"
  export CUDA_CACHE_PATH=/tmp/nvcache CUDA_CACHE_MAXSIZE=4294967296
  L="./llama-bench -m /tmp/g/f16.gguf -p 512 -n 32 -d 512,2048,8192 -ngl 99 -r 3 -o md"
  (cd /opt/lc && TMO=200 run llama-before $L); cat $o/llama-before.out | tee -a $o/log.txt
  wait_export 1
  TMO=200 run bench-fp16 $C bench --provider cuda --runs 3 --decode-steps 32 --prefill-tokens 512 --bandwidth $bw -m /tmp/r/fp16 \
    --batch 1,32 --context 512,2048,8192 --json $o/bench-fp16.json
  grep -hE 'graph nodes|^\| /tmp' $o/bench-fp16.err $o/bench-fp16.out | tee -a $o/log.txt
  TMO=200 run hf python3 "$root/tools/device/cuda/hf_peer.py"; cat $o/hf.out | tee -a $o/log.txt
  (cd /opt/lc && TMO=200 run llama-after $L); cat $o/llama-after.out | tee -a $o/log.txt
  exit 0
fi

# QUICK=59 (issue 18), three loose ends of round 24. (1) Plain decoding at 1 x 7,680 ran 3,079 tok/s with three documents a
# row over 512 tokens (c) and 4,479 with one over 256 (a): the same cell both ways in one process each (static, then
# DOCS=3), 512 new tokens, traced. (2) A pass shape's first run in a process cost 15-20 ms (105 ms the first multi-token
# verification): the static 8 / 32 x 1,024 self-speculation cells with CUDA_MODULE_LOADING=EAGER (every kernel loaded
# when the CUDA libraries load) and with ONNX Runtime's arena grown by exactly what is asked (kSameAsRequested) against
# the defaults (lazy loading, the arena grown to the next power of two), traced. (3) A 13-node tree's passes (the slots
# graph, on ONNX Runtime's unfused kernel for its Attention) against the memory-efficient kernel and the memory-efficient
# or unfused (18; flash takes no bias) through CONDENSA_SLOTS_ATTENTION_KERNELS, beside self@12's chain, 32 x 7,680, 64
# tokens, static: read each row's verify ms.
if [ "${QUICK:-0}" = 59 ]; then
  PROMPTS=${PROMPTS:-heldout}; P=$(prompt_texts); m=${MODEL:-models/demo-code-mha}
  for docs in 1 3; do
    TMO=${SPEC_TMO:-120} run b1-docs$docs $C bench --speculative none,self -m $m --provider cuda --precision fp16 --batch 1 --context 7680 \
      --max-tokens 512 --runs 1 --documents-per-row $docs $P --json $o/b1-docs$docs.json --trace $o/b1-docs$docs.jsonl
    show_rows b1-docs$docs
  done
  for loading in LAZY EAGER ARENA; do   # ARENA: lazy loading, ONNX Runtime's arena grown by what each request needs
    opts=; [ $loading = ARENA ] && opts="arena_extend_strategy=kSameAsRequested"
    CUDA_MODULE_LOADING=${loading/ARENA/LAZY} CONDENSA_CUDA_OPTIONS=$opts TMO=${SPEC_TMO:-120} run loading-$loading $C bench --speculative none,self \
      -m $m --provider cuda --precision fp16 --batch 8,32 --context 1024 --max-tokens 256 --runs 1 $P --json $o/loading-$loading.json \
      --trace $o/loading-$loading.jsonl
    show_rows loading-$loading
  done
  for kernel in 16 2 18; do
    CONDENSA_SLOTS_ATTENTION_KERNELS=$kernel TMO=${SPEC_TMO:-120} run tree-sdpa-$kernel $C bench --speculative none,self@12,tree-self@13 -m $m \
      --provider cuda --precision fp16 --batch 32 --context 7680 --max-tokens 64 --runs 1 $P --json $o/tree-sdpa-$kernel.json
    show_rows tree-sdpa-$kernel
  done
  xz -9 $o/*.jsonl
  exit 0
fi

# QUICK=58 (issue 18): the 1.1B shape's cost side over the grid, at the γ the demo pair's planner settles on at long
# context: tinyllama-1.1b-mha (install.sh EXPORTS=mha: random weights, so every draft is rejected and the run gives each
# round's draft and verify milliseconds, not a speedup), plain and self@12, BATCHES (1,8,32) x CONTEXTS (1024,4096,7680),
# 64 new tokens, static, traced. predict_speedup.py pairs it with QUICK=50's self@12 rows on the development machine.
if [ "${QUICK:-0}" = 58 ]; then
  wait_named_export mha || true
  [ -f /tmp/r/mha/condensa.json ] || { log "no /tmp/r/mha: run install.sh with EXPORTS=mha"; exit 4; }
  TMO=${SPEC_TMO:-400} run mha-12 $C bench --speculative none,self@12 -m /tmp/r/mha --provider cuda --batch ${BATCHES:-1,8,32} \
    --context ${CONTEXTS:-1024,4096,7680} --max-tokens 64 --runs 1 $(prompt_texts) --json $o/mha-12.json --trace $o/mha-12.jsonl
  show_rows mha-12
  xz -9 $o/mha-12.jsonl
  exit 0
fi

# QUICK=74 (issue 18): the grid's model beside both peers in one call, over BATCHES (1,8,32,64) x CONTEXTS
# (1024,4096,7680), NEW_TOKENS (128) a row. Plain decoding: condensa bench --speculative none at float32 and float16;
# llama.cpp's llama-batched-bench on the same checkpoint converted to GGUF (tools/bench/llamacpp/make_gguf.py --checkpoint
# --tokenizer: F32 weights with an F32 cache, F16 with F16); transformers' generate() in float32 and float16
# (hf_grid_peer.py). Speculation at one row, 256 tokens after prompts cut from the held-out text's start: condensa bench
# (plain, self, the draft model, prompt lookup; a float32 target drafted for by float16 exports, of itself and of the draft
# model, as in QUICK=50 (apps before 19ef6c8 ran the draft model in float32), both pairs calibrated at one row first)
# and llama.cpp's
# llama-speculative-simple (demo-code-draft's F16 GGUF drafting up to 12 tokens for the F32 target; n-gram lookup of 3
# tokens drafting up to 12), then condensa generate on the same prompts, whose greedy text must start each llama.cpp
# continuation (tools/bench/llamacpp/same_text.py). llama.cpp's CUDA build must be in /opt/lc: peers.sh (STAGE_ONLY=1 suffices) in a call before,
# on the same machine; the tree needs models/demo-code-mha and models/demo-code-draft (tree.sh slim names them).
if [ "${QUICK:-0}" = 74 ]; then
  m=${MODEL:-models/demo-code-mha} B=${BATCHES:-1,8,32,64} X=${CONTEXTS:-1024,4096,7680} N=${NEW_TOKENS:-128}; PROMPTS=heldout; P=$(prompt_texts)
  for p in fp32 fp16; do
    TMO=${SPEC_TMO:-150} run plain-$p $C bench --speculative none -m $m --provider cuda --precision $p --batch $B --context $X \
      --max-tokens $N --runs 1 $P --json $o/plain-$p.json
    show_rows plain-$p
  done
  # both pairs calibrated at one row first, so condensa speculates as a user's calibrated model does (window, γ)
  DRAFT_PRECISION=fp16 calibrate_pairs ${CAL_TMO:-90} "--provider cuda --precision fp32 --batch 1 --context $X" $m demo-code-draft
  TMO=${SPEC_TMO:-150} run spec-b1 $C bench --speculative none,self,draft,lookup -m $m --draft demo-code-draft --draft-precision fp16 \
    --provider cuda --precision fp32 --batch 1 --context $X --max-tokens 256 --runs 1 $P --json $o/spec-b1.json
  show_rows spec-b1
  if [ -x /opt/lc/llama-batched-bench ]; then
    mkdir -p /tmp/g74; rows=$(echo $B | tr , '\n' | sort -n | tail -1); longest=$(echo $X | tr , '\n' | sort -n | tail -1)
    python3 "$root/tools/bench/llamacpp/make_gguf.py" --checkpoint models/demo-code-draft --tokenizer models/demo-code --type f16 \
      --out /tmp/g74/draft-f16.gguf | tee -a $o/log.txt
    # this llama.cpp carries sm_90 PTX, which the driver compiles at a kernel's first launch (round 37: 27 s of a first
    # 1,024-token prefill, and each later process slower at its first new shapes): every llama.cpp run below goes twice,
    # the first into *-warm, with the compiled kernels kept in CUDA_CACHE_PATH
    export CUDA_CACHE_PATH=/tmp/nvcache CUDA_CACHE_MAXSIZE=4294967296
    for t in f32 f16; do   # the cache's slots split evenly over the sequences: each gets the longest prompt and its tokens
      python3 "$root/tools/bench/llamacpp/make_gguf.py" --checkpoint $m --tokenizer models/demo-code --type $t --out /tmp/g74/$t.gguf | tee -a $o/log.txt
      for w in -warm ""; do
        (cd /opt/lc && TMO=${PEER_TMO:-150} run llama-$t$w ./llama-batched-bench -m /tmp/g74/$t.gguf -c $((rows * (longest + N + 64))) \
          -b 2048 -ub 512 -npp $X -ntg $N -npl $B -ngl 99 -ctk $t -ctv $t)
      done
      grep -E '^\|' $o/llama-$t.out | tee -a $o/log.txt
    done
    python3 - $X <<'PY' > $o/prompts.log   # the held-out text's first CONTEXT - 1 tokens (llama.cpp adds BOS), as text
import sys
from tokenizers import Tokenizer
tok = Tokenizer.from_file("models/demo-code/tokenizer.json")
ids = tok.encode(open("/tmp/heldout.txt", encoding="utf-8").read(200_000), add_special_tokens=False).ids
for c in map(int, sys.argv[1].split(",")):
    open(f"/tmp/g74/prompt-{c}.txt", "w", encoding="utf-8").write(tok.decode(ids[:c - 1]))
    print(c, "tokens: /tmp/g74/prompt-%d.txt" % c)
PY
    for c in $(echo $X | tr , ' '); do
      S="-m /tmp/g74/f32.gguf -ctk f32 -ctv f32 -f /tmp/g74/prompt-$c.txt -n 256 --ignore-eos -c $((c + 512)) -b $((c + 512)) -ub 512 --temp 0 -ngl 99"
      for w in -warm ""; do
        (cd /opt/lc && TMO=90 run llama-spec-draft-$c$w ./llama-speculative-simple $S -md /tmp/g74/draft-f16.gguf -ngld 99 \
          --spec-type draft-simple --spec-draft-n-max 12)
        (cd /opt/lc && TMO=90 run llama-spec-lookup-$c$w ./llama-speculative-simple $S --spec-type ngram-simple \
          --spec-ngram-simple-size-n 3 --spec-ngram-simple-size-m 12)
      done
    done
    grep -HE "decoded|accept " $o/llama-spec-*.err | grep -v -- -warm | sed "s|$o/||" | tee -a $o/log.txt
    for c in $(echo $X | tr , ' '); do   # the same prompts through condensa generate: its greedy text starts llama.cpp's
      cp /tmp/g74/prompt-$c.txt $o/
      TMO=60 run generate-$c $C generate -m $m --provider cuda --precision fp32 -f /tmp/g74/prompt-$c.txt --max-tokens 256 --json
    done
    python3 "$root/tools/bench/llamacpp/same_text.py" $(for c in $(echo $X | tr , ' '); do for s in draft lookup; do
      echo $o/prompt-$c.txt $o/llama-spec-$s-$c.out $o/generate-$c.out; done; done) | sed "s|$o/||" | tee -a $o/log.txt
  else log "no llama.cpp in /opt/lc: run peers.sh (STAGE_ONLY=1) in the call before"; fi
  TMO=${PEER_TMO:-240} run hf-grid python3 "$root/tools/device/cuda/hf_grid_peer.py" $m --batches $B --contexts $X --new $N
  cat $o/hf-grid.out | tee -a $o/log.txt
  exit 0
fi

# QUICK=57 (issue 18): a peer for speculation at batch 1, in the same call: condensa bench (plain, self, the draft model,
# prompt lookup; planner) on demo-code-mha with demo-code-draft, then transformers' generate() on the same checkpoints
# (plain, prompt_lookup_num_tokens, assistant_model; hf_spec_peer.py), CONTEXTS (default 1024,4096,7680), 256 new tokens,
# prompts from the held-out files. The tree needs models/demo-code-mha and models/demo-code-draft (tree.sh slim keeps
# demo-code's tokenizer files beside them).
if [ "${QUICK:-0}" = 57 ]; then
  PROMPTS=heldout; P=$(prompt_texts)
  TMO=${SPEC_TMO:-200} run spec-b1 $C bench --speculative none,self,draft,lookup -m models/demo-code-mha --draft demo-code-draft --provider cuda \
    --precision fp16 --batch 1 --context ${CONTEXTS:-1024,4096,7680} --max-tokens 256 --runs 1 $P --json $o/spec-b1.json --trace $o/spec-b1.jsonl
  show_rows spec-b1; xz -9 $o/spec-b1.jsonl
  TMO=${PEER_TMO:-240} run hf-spec python3 "$root/tools/device/cuda/hf_spec_peer.py" /tmp/heldout.txt --models "$root/models" --contexts ${CONTEXTS:-1024,4096,7680}
  cat $o/hf-spec.out | tee -a $o/log.txt
  exit 0
fi

# QUICK=55 (issue 18): what one strided device copy costs issued among many (span_copy_cost.py: cudaMemcpy2DAsync between two
# [64, 16, 8192, 64] float16 buffers, 8 to 2,048 copies of 1 to 7,680 entries a head), the constant DeviceKvStorage
# weighs strided copies against kv_write's index with.
if [ "${QUICK:-0}" = 55 ]; then
  log "span copy cost"; python3 "$root/tools/device/cuda/span_copy_cost.py" $o/span-copy-cost.md 2>&1 | tee -a $o/log.txt
  exit 0
fi

# QUICK=54 (issue 18): row moves as strided copies, off (CONDENSA_KV_SPAN_COPIES=0: kv_write, an index of every entry) and
# on, in turn: round 21's static batches spent 2.2 ms a moved row at 4,096 tokens and 4-4.5 ms at 7,680 outside the
# rounds. demo-code-mha (MODEL), plain, self and lookup, BATCHES (default 32,64) x CONTEXTS (default 4096,7680), 256 new
# tokens; each row's moves and time outside the rounds from the JSON.
if [ "${QUICK:-0}" = 54 ]; then
  PROMPTS=${PROMPTS:-heldout}
  for v in 0 1; do
    CONDENSA_KV_SPAN_COPIES=$v TMO=${SPEC_TMO:-240} run spans-$v $C bench --speculative none,self,lookup -m ${MODEL:-models/demo-code-mha} --provider cuda \
      --precision fp16 --batch ${BATCHES:-32,64} --context ${CONTEXTS:-4096,7680} --max-tokens 256 --runs 1 $(prompt_texts) --json $o/spans-$v.json
    show_rows spans-$v
  done
  for v in 0 1; do python3 -c "
import json, sys
for r in json.load(open(sys.argv[1]))['rows']:
    print(sys.argv[2], r['mode'], r['batch'], r['prompt_tokens'], round(r['speedup'], 2), 'moves', r['row_moves'], 'ms outside rounds', r['ms_outside_rounds'])
" $o/spans-$v.json "spans=$v"; done | tee -a $o/log.txt
  exit 0
fi

# QUICK=53 (issue 18): the self-speculation budget's window against the draft pass's cost (round 22: GroupQueryAttention's
# XQA kernel took 29 µs a layer over the 336-slot budget at 32 rows, half a draft pass). demo-code-mha (MODEL) at 32 x 7,680,
# WINDOWS (default 64 128 256 512) in turn; GAMMA (default 12), NEW_TOKENS (default 128), DOCS (documents per row,
# default 1: a static batch; 3 = round 21's full batch).
if [ "${QUICK:-0}" = 53 ]; then
  PROMPTS=${PROMPTS:-heldout}
  for w in ${WINDOWS:-64 128 256 512}; do
    TMO=120 run window-$w $C bench --speculative none,self -m ${MODEL:-models/demo-code-mha} --provider cuda --precision fp16 --batch ${BATCH:-32} \
      --context 7680 --max-tokens ${NEW_TOKENS:-128} --runs 1 --gamma ${GAMMA:-12} --documents-per-row ${DOCS:-1} --window $w $(prompt_texts)
    show_rows window-$w
  done
  exit 0
fi

# QUICK=52 (issue 18): where a γ = 12 self-speculation round of demo-code-mha goes (round 21: 3.7 ms of twelve drafts and
# 2.3 ms of verification at 32 x 7,680 on both the H100 and the H200, where plain steps take 1.6 and 1.1 ms). Captured with
# ORT_ENABLE_XQA=0 (GroupQueryAttention's decode kernel off, so a budget's draft passes take the slots graph), then
# uncaptured with ONNX Runtime's profiles (per node, host time; each session's runs grouped by duration),
# summarised by profile_summary.py; then Nsight Compute's GPU time per kernel of uncaptured runs, 16 new tokens
# (kernel_times.py --kinds): every kernel at NCU_CONTEXT (default 1,024: a draft pass reads the same budget at any
# context, and 7,680's prefill kernels outlast 240 s), and at 7,680 the attention-side kernels alone (NCU_FILTER).
# MODEL (default models/demo-code-mha), PROMPTS (default heldout); NCU_ONLY=1 runs the Nsight Compute part alone.
# SPEC_MODES (default none,self) and PIN (default --gamma 12; empty for none) profile other modes: a 13-node tree's passes
# (the slots graph, round 24's 1.5 ns a token, slot and row) with SPEC_MODES=none,tree-self@13 PIN= NCU_SKIP_ALL=1.
# PRECISION=fp32: the float32 export's rounds (its drafts on the slots graph).
if [ "${QUICK:-0}" = 52 ]; then
  PROMPTS=${PROMPTS:-heldout}
  V="bench --speculative ${SPEC_MODES:-none,self} -m ${MODEL:-models/demo-code-mha} --provider cuda --precision ${PRECISION:-fp16} --batch 32 --context 7680 --max-tokens 64 --runs 1 ${PIN---gamma 12} $(prompt_texts)"
  if [ -z "${NCU_ONLY:-}" ]; then
    TMO=150 run mha-self-captured $C $V; show_rows mha-self-captured
    # the XQA kernel's cost per call has a floor (round 22): a budget's draft passes without it take the slots graph
    ORT_ENABLE_XQA=0 TMO=150 run mha-self-noxqa $C $V; show_rows mha-self-noxqa
  fi
  if [ -z "${NCU_ONLY:-}${NO_PROFILE:-}" ]; then   # NO_PROFILE=1: no ONNX Runtime profile
    CONDENSA_ORT_PROFILE=$o/prof/mha TMO=150 run mha-self-profiled $C $V --graph-capture off; show_rows mha-self-profiled
    python3 "$root/tools/device/cuda/profile_summary.py" $o/prof | tee $o/prof-summary.txt
    for f in $o/prof/*.json; do xz -9 "$f"; done
  fi
  K="--csv --page raw --metrics gpu__time_duration.sum --clock-control none"
  V=${V/--max-tokens 64/--max-tokens 16}
  if [ -z "${NCU_SKIP_ALL:-}" ]; then
    TMO=300 run mha-self-ncu $NCU $K --log-file $o/ncu-self.csv $C ${V/--context 7680/--context ${NCU_CONTEXT:-1024}} --graph-capture off
    python3 "$root/tools/device/cuda/kernel_times.py" $o/ncu-self.csv ncu-self --kinds | tee $o/pass-kinds.txt
    python3 "$root/tools/device/cuda/ncu_by_kernel.py" $o/ncu-self.csv > $o/ncu-self.txt; rm -f $o/ncu-self.csv
  fi
  F=${NCU_FILTER:-'regex:(flash_fwd|fmha|TensorScatter|catter|Rotary|Transpose|oftmax|Attention|attention|nfused|kernel_mha)'}
  TMO=300 run mha-self-ncu-attn $NCU $K --kernel-name-base demangled --kernel-name "$F" --log-file $o/ncu-attn.csv $C $V --graph-capture off
  python3 "$root/tools/device/cuda/ncu_by_kernel.py" $o/ncu-attn.csv | tee $o/ncu-attn.txt; xz -9 $o/ncu-attn.csv
  exit 0
fi

# QUICK=49 (issue 18): the trained demo-code-mha (MODEL, default .mha/demo-code-mha: models/demo-code-mha carried there, or
# /tmp/condensa-train/models/demo-code-mha after run_device.sh mha) over the demo grid, static batches: plain decoding and
# self-speculation, adaptive
# and γ = 3, 256 new tokens, traced, with the chart and the full-batch split. QUICK=46 with the same MODEL measures its
# full batch at 32 and 64 x 7,680 (a call of its own).
if [ "${QUICK:-0}" = 49 ]; then
  m=${MODEL:-$root/.mha/demo-code-mha}
  [ -f $m/config.json ] || { log "no checkpoint at $m (MODEL=): train it with tools/train/run_device.sh mha"; exit 4; }
  for g in ${GAMMAS:-auto 3}; do   # GAMMAS, BATCHES, CONTEXTS: a part of the grid (a short call)
    TMO=${SPEC_TMO:-260} run mha-grid-$g $C bench --speculative none,self -m $m --provider cuda --precision ${PRECISION:-fp16} --batch ${BATCHES:-1,8,32,64} \
      --context ${CONTEXTS:-1024,4096,7680} --max-tokens 256 --runs 1 --gamma $g $(prompt_texts) --json $o/mha-grid-$g.json \
      --trace $o/mha-grid-$g.jsonl --chart $o/mha-grid-$g.svg
    show_rows mha-grid-$g
    python3 "$root/tools/bench/trace_summary.py" $o/mha-grid-$g.jsonl --bench $o/mha-grid-$g.json | tee $o/mha-grid-$g-full-batch.md
  done
  xz -9 $o/*.jsonl
  exit 0
fi

# QUICK=47 (issue 18): the verification pass's attention kernel on the KV-heavy shape. Round 18 b: at 32 x 7,680 the
# MHA shape verified 4 tokens a row in 16.2 ms against an 11.7 ms plain step, on the multi-row causal graph's unfused
# kernel (chosen in round 9 on the grouped-query 1.1B shape, whose fused kernels read the cache once per query head; with
# a KV head per query head they read it once either way). Self-speculation at γ = 3 on tinyllama-1.1b-mha at 8 and 32 x
# 7,680 (64 new tokens, random weights: the round costs) and on demo-code at 32 x 7,680 (256), with the multi-row graph's
# sdpa_kernel 16 (unfused, the default for grouped-query models), 2 (memory-efficient), 1 (flash: the default with a KV
# head per query head since round 19) and 16 again, in turn (CONDENSA_ROWS_ATTENTION_KERNELS);
# and on demo-code-mha's random shape at 32 x 7,680 where install.sh exported it (EXPORTS="mha demo-mha").
if [ "${QUICK:-0}" = 47 ]; then
  wait_export 2 || true
  [ -f /tmp/r/mha/condensa.json ] || { log "no /tmp/r/mha: run install.sh with EXPORTS=mha"; exit 4; }
  for k in 16 2 1 16b; do
    CONDENSA_ROWS_ATTENTION_KERNELS=${k%b} TMO=${SPEC_TMO:-130} run kernels$k-mha $C bench --speculative none,self -m /tmp/r/mha --provider cuda \
      --batch 8,32 --context 7680 --max-tokens 64 --runs 1 --gamma 3 $(prompt_texts) --json $o/kernels$k-mha.json
    show_rows kernels$k-mha
    CONDENSA_ROWS_ATTENTION_KERNELS=${k%b} TMO=${SPEC_TMO:-130} run kernels$k-demo $C bench --speculative none,self -m demo-code --provider cuda \
      --precision fp16 --batch 32 --context 7680 --max-tokens 256 --runs 1 --gamma 3 $(prompt_texts) --json $o/kernels$k-demo.json
    show_rows kernels$k-demo
    if [ -f /tmp/r/dmha/condensa.json ]; then   # install.sh EXPORTS="... demo-mha": demo-code-mha's random shape
      CONDENSA_ROWS_ATTENTION_KERNELS=${k%b} TMO=${SPEC_TMO:-130} run kernels$k-dmha $C bench --speculative none,self -m /tmp/r/dmha \
        --provider cuda --batch 32 --context 7680 --max-tokens 64 --runs 1 --gamma 3 $(prompt_texts) --json $o/kernels$k-dmha.json
      show_rows kernels$k-dmha
    fi
  done
  exit 0
fi

# QUICK=46 (issue 18): speculation in a full batch, measured by bench itself. `--documents-per-row 3`: each row of the
# batch takes three prompts in turn, a finished row refilled between passes (as extract and serve run), so the rows drain
# only at the end instead of a static batch's tail (round 18: a third of the run at 7,680 tokens). Self-speculation
# (adaptive and γ = 3), prompt lookup and plain decoding at 32 and 64 x 7,680, 512 new tokens, traced (trace_summary.py
# --bench splits the full-batch rounds from the drain). Each run prefills 3 x 96 prompts of 7,680 tokens (~30 s at round
# 18 f's prefill rate), so QUICK=45's extract jobs take a call of their own. MODEL= another target (a checkpoint folder).
if [ "${QUICK:-0}" = 46 ]; then
  for g in ${GAMMAS:-auto 3}; do   # GAMMAS=3: the fixed γ alone, BATCHES=32: one batch (a short call)
    modes=$([ $g = auto ] && echo none,self,lookup || echo none,self)
    TMO=${SPEC_TMO:-300} run refill-$g $C bench --speculative $modes -m ${MODEL:-demo-code} --provider cuda --precision ${PRECISION:-fp16} --batch ${BATCHES:-32,64} \
      --context 7680 --max-tokens 512 --runs 1 --gamma $g --documents-per-row 3 $(prompt_texts) --json $o/refill-$g.json \
      --trace $o/refill-$g.jsonl --chart $o/refill-$g.svg
    show_rows refill-$g
  done
  xz -9 $o/*.jsonl
  exit 0
fi

# QUICK=45 (issue 18): self-speculation where finished rows are refilled, as a batch job runs it. `extract` over 4 x BATCH
# documents of 15,000 characters each (overlapping slices of the project's own docs and sources, ~5,500 tokens), 512 new
# tokens each, greedy, on demo-code float16: plain decoding, prompt lookup and self-speculation (adaptive and γ = 3) at
# batch 32 and 64, and how many records each mode gives equal to plain decoding's. Each job's summary line splits prefill,
# decode, drafting and verifying and counts the cache's regrowths (since session 42). Then what prefill costs there: the
# batch-32 job in chunks of 4,096 instead of 512, bench's one pass of a 6,400-token prompt, and a profiled small job.
if [ "${QUICK:-0}" = 45 ]; then
  printf '%s' '{{text}}' > $o/template.txt
  for B in 32 64; do
    python3 - "$root" $((4 * B)) > $o/docs$B.jsonl <<'PY'
import json, sys, pathlib
root = pathlib.Path(sys.argv[1])
text = "".join(p.read_text(errors="replace") for p in sorted(root.glob("docs/*.md")) + sorted(root.glob("tools/*/*.py")))
n = int(sys.argv[2]); step = max(1, (len(text) - 15000) // n)
for i in range(n):
    print(json.dumps({"id": f"doc{i}", "text": text[i * step: i * step + 15000]}))
PY
    for v in none:none lookup:lookup self:self self3:self; do
      g=$([ ${v%%:*} = self3 ] && echo "--gamma 3" || true)
      TMO=150 run extract$B-${v%%:*} $C extract -m demo-code --provider cuda --precision fp16 --input $o/docs$B.jsonl \
        --prompt-template $o/template.txt --output $o/extract$B-${v%%:*}.jsonl --batch $B --max-tokens 512 --temperature 0 \
        --speculative ${v#*:} $g
      tail -1 $o/extract$B-${v%%:*}.out | tee -a $o/log.txt
    done
    for v in lookup self self3; do
      records_equal extract$B-$v "plain decoding" $o/extract$B-none.jsonl $o/extract$B-$v.jsonl
    done
  done
  # prefill, most of such a job (round 18 f, estimated from plain steps' times: ~11 of 12.5 s at batch 32, ~73 K tokens/s)
  TMO=90 run extract32-chunk4096 $C extract -m demo-code --provider cuda --precision fp16 --input $o/docs32.jsonl \
    --prompt-template $o/template.txt --output $o/extract32-chunk4096.jsonl --batch 32 --max-tokens 512 --temperature 0 \
    --speculative none --prefill-chunk 4096
  tail -1 $o/extract32-chunk4096.out | tee -a $o/log.txt
  records_equal extract32-chunk4096 "chunks of 512" $o/extract32-none.jsonl $o/extract32-chunk4096.jsonl
  TMO=60 run prefill6400 $C bench -m demo-code --provider cuda --precision fp16 --batch 1 --context 512 --decode-steps 4 \
    --runs 3 --prefill-tokens 6400 --no-bandwidth
  grep -E '^\|' $o/prefill6400.out | tee -a $o/log.txt
  # and where a prefill chunk's time goes: ONNX Runtime profiles of a small job (8 of the documents, batch 8, 32 new
  # tokens; decode steps replay captured graphs, so the runs with node events are the prefill chunks and the KV copies)
  head -8 $o/docs32.jsonl > $o/docs8.jsonl
  CONDENSA_ORT_PROFILE=$o/prof/extract TMO=90 run extract8-profiled $C extract -m demo-code --provider cuda --precision fp16 \
    --input $o/docs8.jsonl --prompt-template $o/template.txt --output $o/extract8-profiled.jsonl --batch 8 --max-tokens 32 \
    --temperature 0 --speculative none
  tail -1 $o/extract8-profiled.out | tee -a $o/log.txt
  python3 "$root/tools/device/cuda/profile_summary.py" $o/prof | tee $o/prof-summary.txt
  rm -f $o/extract*.jsonl $o/prof/*.json
  exit 0
fi

# QUICK=41 (issue 18): the issue's acceptance command in one call: `calibrate` for the self and draft pairs over the 12
# cells (the trees' sizes, saved beside the export where bench finds them), then every mode, adaptive, over the same cells,
# 512 new tokens, traced, with the chart of speedup against batch and context.
if [ "${QUICK:-0}" = 41 ]; then
  G="--batch 1,8,32,64 --context 1024,4096,7680" P="--provider cuda --precision fp16"
  calibrate_pairs 120 "$P $G"
  TMO=${SPEC_TMO:-330} run all-modes $C bench --speculative none,self,draft,lookup,tree-self,tree-draft -m demo-code --draft demo-code-draft \
    $P $G --max-tokens 512 --runs 1 $(prompt_texts) --json $o/all-modes.json --chart $o/all-modes.svg --trace $o/all-modes.jsonl
  show_rows all-modes
  xz -9 $o/*.jsonl
  exit 0
fi

# QUICK=42 (issue 18): 16K cells, where the demo pair allows them with rope scaling: copies of demo-code and its draft
# with transformers' linear rope scaling (factor 2: position interpolation, position p rotates as p / 2) and
# max_position_embeddings 16,384, without training at that length, so the acceptance shows what the scaling keeps. The
# chains, adaptive and γ = 3, at batch 1, 8, 32 and 64 x 15,872 tokens (the context less the 512 new ones), traced.
if [ "${QUICK:-0}" = 42 ]; then
  copies_16k models/demo-code models/demo-code-draft
  for g in auto 3; do
    gamma=$([ $g = 3 ] && echo "--gamma 3" || true)
    TMO=${SPEC_TMO:-200} run ctx16k-$g $C bench --speculative none,self,draft,lookup -m /tmp/m16/demo-code --draft /tmp/m16/demo-code-draft \
      --provider cuda --precision fp16 --batch 1,8,32,64 --context 15872 --max-tokens 512 --runs 1 $gamma $(prompt_texts) \
      --json $o/ctx16k-$g.json --trace $o/ctx16k-$g.jsonl
    show_rows ctx16k-$g
  done
  xz -9 $o/*.jsonl
  exit 0
fi

# QUICK=39 (issue 16): two kernels ONNX Runtime 1.32's CUDA provider ships switched off, each read from the environment when
# a session is made: XQA decode attention inside GroupQueryAttention (ORT_ENABLE_XQA=1: one-token steps, head size 64-512,
# its own RoPE and KV append) and a GEMV for MatMuls of few rows (ORT_ENABLE_SMALL_N_GEMV=1). The 1.1B fp16 shape's plain
# decoding under the four combinations, three rounds in rotating order, llama-bench before and after (GGUF=1); greedy
# parity of each against the default (1.1B 64 tokens, demo-code 200); demo-code's plain grid under each; Nsight Compute's
# kernel times with both on (VARIANT picks another).
if [ "${QUICK:-0}" = 39 ]; then
  for i in $(seq 90); do [ -s /tmp/g/done ] && break; sleep 2; done; log "gguf: $(cat /tmp/g/done 2>/dev/null | tr '\n' ' ')"
  export CUDA_CACHE_PATH=/tmp/nvcache CUDA_CACHE_MAXSIZE=4294967296
  (cd /opt/lc && TMO=150 run llama-tg ./llama-bench -m /tmp/g/f16.gguf -p 0 -n 32 -d 512,2048,8192 -ngl 99 -r 5 -o md)
  cat $o/llama-tg.out | tee -a $o/log.txt
  wait_export 1
  variants=(default:0:0 xqa:1:0 gemv:0:1 both:1:1)
  B="bench --provider cuda --runs 3 --decode-steps 32 --prefill-tokens 512 --bandwidth ${BW:-4362} --batch 1,32 --context 512,2048,8192"
  for r in 1 2 3; do
    for k in 0 1 2 3; do v=${variants[$(( (k + r - 1) % 4 ))]}; IFS=: read n x g <<< "$v"
      ORT_ENABLE_XQA=$x ORT_ENABLE_SMALL_N_GEMV=$g TMO=150 run big-$n-$r $C $B -m /tmp/r/fp16 --json $o/big-$n-$r.json
    done
  done
  for f in $o/big-*.out; do echo "-- $(basename $f)"; grep -hE '^\| /tmp' $f; done | tee -a $o/log.txt
  (cd /opt/lc && TMO=150 run llama-tg2 ./llama-bench -m /tmp/g/f16.gguf -p 0 -n 32 -d 512,2048,8192 -ngl 99 -r 5 -o md)
  cat $o/llama-tg2.out | tee -a $o/log.txt
  $C export --checkpoint models/demo-code --out /tmp/r/demo16 --precision fp16 > $o/demo16-export.log 2>&1
  for v in "${variants[@]}"; do IFS=: read n x g <<< "$v"
    ORT_ENABLE_XQA=$x ORT_ENABLE_SMALL_N_GEMV=$g run par-big-$n $C generate --model /tmp/r/fp16 --prompt 'def fibonacci(n):' --max-tokens 64 \
      --temperature 0 --json --provider cuda
    ORT_ENABLE_XQA=$x ORT_ENABLE_SMALL_N_GEMV=$g run par-demo-$n $C generate --model /tmp/r/demo16 --prompt 'def fibonacci(n):' --max-tokens 200 \
      --temperature 0 --json --provider cuda
    ORT_ENABLE_XQA=$x ORT_ENABLE_SMALL_N_GEMV=$g TMO=120 run demo-$n $C bench --speculative none -m demo-code --provider cuda --precision fp16 \
      --batch 1,8,32,64 --context 1024,4096,7680 --max-tokens 128 --runs 2 $(prompt_texts) --json $o/demo-$n.json
  done
  python3 "$root/tools/device/cuda/first_diff.py" $o par-big-default par-big-xqa par-big-gemv par-big-both | tee -a $o/log.txt
  python3 "$root/tools/device/cuda/first_diff.py" $o par-demo-default par-demo-xqa par-demo-gemv par-demo-both | tee -a $o/log.txt
  for f in $o/demo-*.out; do echo "-- $(basename $f)"; grep -hE '^\| none' $f; done | tee -a $o/log.txt
  IFS=: read n x g <<< "${VARIANT:-both:1:1}"; ORT_ENABLE_XQA=$x ORT_ENABLE_SMALL_N_GEMV=$g kernel_times
  exit 0
fi

# QUICK=40 (issue 18): round 15 b's slow verifications once rows finish (prompt lookup, γ = 3, 64 x 7,680): the cell traced
# with CUDA graphs on and off, and each trace's verify times before and after the first row finishes.
if [ "${QUICK:-0}" = 40 ]; then
  for g in on off; do
    TMO=150 run tail-$g $C bench --speculative none,lookup -m demo-code --provider cuda --precision fp16 --batch 64 --context 7680 \
      --max-tokens 512 --runs 1 --gamma 3 --graph-capture $g --trace $o/tail-$g.jsonl $(prompt_texts) --json $o/tail-$g.json
    grep -E '^\|' $o/tail-$g.out | tee -a $o/log.txt
    python3 - $o/tail-$g.jsonl <<'PY' | tee -a $o/log.txt
import json, sys, statistics as st
rounds = [r for r in map(json.loads, open(sys.argv[1])) if r["mode"] == "lookup" and r["run"] == 1]
full = [r["measured"]["verify_milliseconds"] for r in rounds if r["measured"]["active_rows"] == 64]
tail = [r["measured"]["verify_milliseconds"] for r in rounds if 0 < r["measured"]["active_rows"] < 64]
print(sys.argv[1].rsplit("/", 1)[-1], "all rows:", len(full), "median", st.median(full), "| rows finished:", len(tail),
      "median", st.median(tail), "over 3 ms", sum(t > 3 for t in tail))
PY
  done
  xz -9 $o/*.jsonl
  exit 0
fi

# QUICK=37 (issue 18): the token trees over QUICK=36's grid sized from costs measured on cuda: `calibrate` for the self and
# draft pairs over the same batches and contexts first (saved beside the export, where bench finds them), then the trees.
if [ "${QUICK:-0}" = 37 ]; then
  G="--batch 1,8,32,64 --context ${TREE_CTX:-1024,4096,7680}" P="--provider cuda --precision fp16"
  calibrate_pairs 150 "$P $G"
  TMO=${SPEC_TMO:-200} run trees-cal $C bench --speculative none,tree-self,tree-draft -m demo-code --draft demo-code-draft $P $G \
    --max-tokens 512 --runs 1 $(prompt_texts) --json $o/trees-cal.json
  show_rows trees-cal 'differ\|note'
  exit 0
fi

# QUICK=12 (issue 20): the family fixtures' greedy continuations on cuda (tools/device/cuda/family_parity.py), float32 (the
# general graph) and float16 (the causal graph where the export has one).
if [ "${QUICK:-0}" = 12 ]; then
  for p in fp16 fp32; do
    TMO=200 run family-$p python3 tools/device/cuda/family_parity.py tests/TestData/golden/family_e2e "$C" --provider cuda --precision $p
    cat $o/family-$p.out | tee -a $o/log.txt
  done
  exit 0
fi

if [ "${QUICK:-0}" = 6 ]; then
  for i in $(seq 150); do [ -s /tmp/r/export.done ] && break; sleep 2; done
  B="bench --provider cuda --runs 5 --decode-steps 32 --prefill-tokens 512 --bandwidth ${BW:-4362}"
  TMO=200 run default $C $B -m /tmp/r/fp16 --batch 1,32 --context 512,2048 --json $o/default.json
  CONDENSA_CUDA_OPTIONS="tunable_op_enable=1;tunable_op_tuning_enable=1" TMO=300 run tunable $C $B -m /tmp/r/fp16 --batch 1,32 --context 512,2048 \
    --json $o/tunable.json
  CONDENSA_CUDA_OPTIONS="tunable_op_enable=1;tunable_op_tuning_enable=1" TMO=300 run tunable-nograph $C $B -m /tmp/r/fp16 --batch 1,32 \
    --context 512 --graph-capture off --json $o/tunable-nograph.json
  TMO=200 run nograph $C $B -m /tmp/r/fp16 --batch 1,32 --context 512 --graph-capture off --json $o/nograph.json
  # layer-condensed at a 4 GiB KV budget (uncaptured: its greedy steps do not fetch the logits) beside the standard model
  for i in $(seq 90); do [ "$(wc -l < /tmp/r/export.done 2>/dev/null)" -ge 4 ] && break; sleep 2; done
  TMO=400 run lckv-big $C $B -m /tmp/r/fp16 -m /tmp/r/lckv --batch 1 --context 2048,8192 --kv-budget 4294967296 --at-budget \
    --json $o/lckv-big.json
  for f in $o/default.out $o/tunable*.out $o/nograph.out $o/lckv-big.out; do echo "-- $(basename $f)"; grep -E '^\| /tmp' $f; done | tee -a $o/log.txt
  exit 0
fi

# QUICK=5: greedy tokens computed in the graph (exporter 7, ForwardGreedy): greedy parity through them (demo-code on cpu
# and cuda, captured and not; extract --batch 8; the 1.1B fp16 export through both graphs), an A/B of decode against the
# base app (pack.sh BASE: the logits copied to the host every step) on the same export, alternating, two rounds each; then
# Nsight Compute's kernel times of uncaptured decode passes at batch 1 and 32 (kernel_times.py), the GPU-only cost of a
# step to set against the captured step's wall time
if [ "${QUICK:-0}" = 5 ]; then
  p='def fibonacci(n):'
  for v in "cpu:--provider cpu" "cuda:--provider cuda" "cuda-nograph:--provider cuda --graph-capture off"; do
    run g-${v%%:*} $C generate --model demo-code --prompt "$p" --max-tokens 64 --temperature 0 --json ${v#*:}
  done
  python3 "$root/tools/device/cuda/first_diff.py" $o g-cpu g-cuda g-cuda-nograph | tee -a $o/log.txt
  extract_parity x demo-code
  for i in $(seq 150); do [ -s /tmp/r/export.done ] && break; sleep 2; done
  for v in "cuda:" "cuda-nograph:--graph-capture off" "cuda-general:--fused-attention off"; do
    run big-${v%%:*} $C generate --model /tmp/r/fp16 --prompt "$p" --max-tokens 64 --temperature 0 --json --provider cuda ${v#*:}
  done
  python3 "$root/tools/device/cuda/first_diff.py" $o big-cuda big-cuda-nograph big-cuda-general | tee -a $o/log.txt
  B="bench --provider cuda --runs 5 --decode-steps 32 --prefill-tokens 512 --bandwidth ${BW:-4362}"
  for r in 1 2; do
    for v in "base:$BASE" "greedy:$C"; do
      TMO=200 run ab-${v%%:*}-$r ${v#*:} $B -m /tmp/r/fp16 --batch 1,32 --context 512,2048,8192 --json $o/ab-${v%%:*}-$r.json
    done
  done
  for f in $o/ab-*.out; do echo "-- $(basename $f)"; grep -E '^\| /tmp' $f; done | tee -a $o/log.txt
  kernel_times
  exit 0
fi

# QUICK=4: a check of the whole app after a change: demo-code as float16 through greedy generate (cpu, cuda), extract
# --batch 8 and every speculative mode at batch 1 and 8 (chains at batch 8 load the general graph beside the causal one);
# then int4 with float16 activations beside int4 and fp16
if [ "${QUICK:-0}" = 4 ]; then
  demo16_parity c16 "cpu:--provider cpu" "cuda:--provider cuda"
  extract_parity e16 /tmp/r/demo16
  SPECMODEL=/tmp/r/demo16 spec s16-cuda --provider cuda
  # int4 with float16 activations (export --half-activations) beside fp16 and int4 with float32 activations
  for i in $(seq 150); do [ "$(wc -l < /tmp/r/export.done 2>/dev/null)" -ge 2 ] && break; sleep 2; done
  $C export --checkpoint /tmp/r/ckpt --out /tmp/r/int4h --precision int4 --half-activations > $o/int4h-export.log 2>&1; log "int4h export rc $?"
  B="bench --provider cuda --runs 5 --decode-steps 32 --prefill-tokens 512 --bandwidth ${BW:-4362}"
  TMO=240 run bench-int4h $C $B -m /tmp/r/int4h -m /tmp/r/int4 -m /tmp/r/fp16 --batch 1,32 --context 512,8192 --json $o/bench-int4h.json
  for f in $o/bench-*.out; do echo "-- $(basename $f)"; grep -E '^\| /tmp' $f; grep -E 'provider' ${f%.out}.err | head -3; done | tee -a $o/log.txt
  exit 0
fi

# QUICK=3: bfloat16 exports (demo-code and the 1.1B checkpoint): greedy tokens through both graphs against fp32 on the
# CPU, and the 1.1B bf16 bench beside fp16
if [ "${QUICK:-0}" = 3 ]; then
  $C export --checkpoint models/demo-code --out /tmp/r/demobf16 --precision bf16 > $o/demobf16-export.log 2>&1
  for v in "cpu32:--model demo-code --provider cpu" "cuda:--model /tmp/r/demobf16 --provider cuda" \
           "cuda-general:--model /tmp/r/demobf16 --provider cuda --fused-attention off" "cuda-nograph:--model /tmp/r/demobf16 --provider cuda --graph-capture off"; do
    run b16-${v%%:*} $C generate ${v#*:} --prompt 'def fibonacci(n):' --max-tokens 200 --temperature 0 --json
  done
  python3 "$root/tools/device/cuda/first_diff.py" $o b16-cpu32 b16-cuda b16-cuda-general b16-cuda-nograph | tee -a $o/log.txt
  for i in $(seq 150); do [ -s /tmp/r/export.done ] && break; sleep 2; done
  $C export --checkpoint /tmp/r/ckpt --out /tmp/r/bf16 --precision bf16 > $o/bf16-export.log 2>&1; log "bf16 export rc $?"
  B="bench --provider cuda --runs 5 --decode-steps 32 --prefill-tokens 512 --bandwidth ${BW:-4362}"
  TMO=200 run bench-bf16 $C $B -m /tmp/r/bf16 -m /tmp/r/fp16 --batch 1,32 --context 512,8192 --json $o/bench-bf16.json
  for f in $o/bench-*.out; do echo "-- $(basename $f)"; grep -E '^\| /tmp' $f; grep -E 'provider' ${f%.out}.err | head -2; done | tee -a $o/log.txt
  exit 0
fi

# QUICK=2: demo-code exported as float16, the trained model whose greedy choices are rarely near ties, through the
# causal graph (fused attention) and the general one: 400 tokens, a ragged batch of 8, every speculative mode; then the
# layer-condensed benches and ONNX Runtime's XQA decode kernel (ORT_ENABLE_XQA=1) against its flash decoding
if [ "${QUICK:-0}" = 2 ]; then
  $C export --checkpoint models/demo-code --out /tmp/r/demo16 --precision fp16 > $o/demo16-export.log 2>&1
  p='def fibonacci(n):'
  for v in "cpu:--provider cpu" "cuda:--provider cuda" "cuda-general:--provider cuda --fused-attention off" \
           "cuda-nograph:--provider cuda --graph-capture off"; do
    run d16-${v%%:*} $C generate --model /tmp/r/demo16 --prompt "$p" --max-tokens 400 --temperature 0 --json ${v#*:}
  done
  extract_inputs
  for v in "cpu:--provider cpu" "cuda:--provider cuda" "cuda-general:--provider cuda --fused-attention off"; do
    run x16-${v%%:*} $C extract --model /tmp/r/demo16 --input $o/docs.jsonl --prompt-template $o/template.txt --output $o/x16-${v%%:*}.jsonl \
      --batch 8 --max-tokens 48 --temperature 0 ${v#*:}
  done
  for v in "cuda:" "cuda-general:--fused-attention off"; do
    run s16-${v%%:*} $C bench --speculative none,self,lookup,tree-self -m /tmp/r/demo16 --batch 1,8 --context 256 --max-tokens 64 --runs 1 \
      --prompt-file tools/train/train.py --provider cuda ${v#*:}; grep -E '^\|' $o/s16-${v%%:*}.out | tee -a $o/log.txt
  done
  python3 - $o <<'PY' | tee -a $o/log.txt
import json, sys
o = sys.argv[1]
ref = None
for n in ["d16-cpu", "d16-cuda", "d16-cuda-general", "d16-cuda-nograph"]:
    try: t = json.loads(open(f"{o}/{n}.out").read().strip().splitlines()[-1])["tokens"]
    except Exception: print(f"{n}: no JSON"); continue
    ref = t if ref is None else ref
    print(f"{n}: {len(t)} tokens, same as d16-cpu: {t == ref} (first difference at {next((i for i, (a, b) in enumerate(zip(t, ref)) if a != b), None)})")
ref = None
for n in ["x16-cpu", "x16-cuda", "x16-cuda-general"]:
    try: recs = {r["id"]: (r.get("text"), r.get("generated_tokens")) for r in map(json.loads, open(f"{o}/{n}.jsonl"))}
    except Exception as e: print(f"{n}: no output ({e.__class__.__name__})"); continue
    ref = recs if ref is None else ref
    print(f"{n}: {len(recs)} records, {sum(recs.get(k) == v for k, v in ref.items())} equal to x16-cpu's")
PY
  B="bench --provider cuda --runs 5 --decode-steps 32 --prefill-tokens 512 --bandwidth ${BW:-4362}"
  TMO=240 run bench-lckv $C $B -m demo-code -m demo-code-lckv --batch 1 --context 1900 --kv-budget 268435456 --at-budget --json $o/bench-lckv.json
  for i in $(seq 90); do [ "$(wc -l < /tmp/r/export.done 2>/dev/null)" -ge 4 ] && break; sleep 2; done
  TMO=400 run bench-lckv-big $C $B -m /tmp/r/fp16 -m /tmp/r/lckv --batch 1 --context 2048,8192 --kv-budget 4294967296 --at-budget \
    --json $o/bench-lckv-big.json --chart $o/bench-lckv-big.svg
  TMO=400 run bench-lckv-big-uncaptured $C $B -m /tmp/r/fp16 -m /tmp/r/lckv --batch 1 --context 2048,8192 --kv-budget 4294967296 --at-budget \
    --graph-capture off --fused-attention off --json $o/bench-lckv-big-uncaptured.json
  TMO=200 run bench-fp16 $C $B -m /tmp/r/fp16 --batch 1,32 --context 512,2048,8192 --json $o/bench-fp16.json
  ORT_ENABLE_XQA=1 TMO=200 run bench-fp16-xqa $C $B -m /tmp/r/fp16 --batch 1,32 --context 512,2048,8192 --json $o/bench-fp16-xqa.json
  for f in $o/bench-*.out; do echo "-- $(basename $f)"; grep -E '^\| /tmp|^\| demo' $f; grep -E 'provider' ${f%.out}.err | head -2; done | tee -a $o/log.txt
  exit 0
fi

# 2) parity on demo-code
p='def fibonacci(n):'
gen() { local name=$1 n=$2; shift 2; run $name $C generate --model ${MODEL:-demo-code} --prompt "$p" --max-tokens $n --temperature 0 --json "$@"; }
gen gen-cpu 64 --provider cpu
gen gen-cuda 64 --provider cuda
gen gen-cuda-nograph 64 --provider cuda --graph-capture off
gen gen-cuda-hostkv 64 --provider cuda --kv-residence host
gen g400-cpu 400 --provider cpu
gen g400-cuda 400 --provider cuda
extract_inputs
ext() { local name=$1; shift; run $name $C extract --model demo-code --input $o/docs.jsonl --prompt-template $o/template.txt --output $o/$name.jsonl \
  --batch 8 --max-tokens 48 --temperature 0 "$@"; }
ext ext-cpu --provider cpu
ext ext-cuda --provider cuda
ext ext-cuda-nograph --provider cuda --graph-capture off

# speculative passes (chains and trees, several tokens per row) through captured graphs: bench says whether every mode
# gave plain decoding's tokens
spec spec-cuda --provider cuda
spec spec-cpu --provider cpu

# 3) parity on the 1.1B shape (exports started by install.sh)
for i in $(seq 150); do [ "$(wc -l < /tmp/r/export.done 2>/dev/null)" -ge 2 ] && break; sleep 2; done
log "exports: $(cat /tmp/r/export.done 2>/dev/null | tr '\n' ' ') $(du -sh /tmp/r/fp16 /tmp/r/int4 2>/dev/null | tr '\n' ' ')"; tail -3 /tmp/r/export.log >> $o/log.txt
MODEL=/tmp/r/fp16 gen big-cuda 64 --provider cuda
MODEL=/tmp/r/fp16 gen big-cuda-general 64 --provider cuda --fused-attention off
MODEL=/tmp/r/fp16 gen big-cuda-nograph 64 --provider cuda --graph-capture off
MODEL=/tmp/r/fp16 gen big-cuda-hostkv 64 --provider cuda --kv-residence host
MODEL=/tmp/r/fp16 TMO=240 gen big-cpu 64 --provider cpu
for i in $(seq 60); do [ "$(wc -l < /tmp/r/export.done 2>/dev/null)" = 3 ] && break; sleep 2; done
MODEL=/tmp/r/fp32 gen big32-cpu 64 --provider cpu
MODEL=/tmp/r/fp32 gen big32-cuda 64 --provider cuda
MODEL=/tmp/r/fp32 gen big32-cuda-nograph 64 --provider cuda --graph-capture off
ext() { local name=$1; shift; run $name $C extract --model ${MODEL:-demo-code} --input $o/docs.jsonl --prompt-template $o/template.txt \
  --output $o/$name.jsonl --batch 8 --max-tokens 48 --temperature 0 "$@"; }
MODEL=/tmp/r/fp16 ext ext-big-cuda-general --provider cuda --fused-attention off
MODEL=/tmp/r/fp16 ext ext-big-cuda --provider cuda
SPECMODEL=/tmp/r/fp16 spec spec-big-cuda --provider cuda
python3 - $o <<'PY' | tee -a $o/log.txt
import json, sys
o = sys.argv[1]
def tokens(n):
    try: return json.loads(open(f"{o}/{n}.out").read().strip().splitlines()[-1])
    except Exception as e: return None
for group in [["gen-cpu", "gen-cuda", "gen-cuda-nograph", "gen-cuda-hostkv"], ["g400-cpu", "g400-cuda"],
              ["big-cpu", "big-cuda", "big-cuda-general", "big-cuda-nograph", "big-cuda-hostkv"],
              ["big-cuda", "big-cuda-general", "big-cuda-nograph", "big-cuda-hostkv"],
              ["big32-cpu", "big32-cuda", "big32-cuda-nograph"]]:
    ref = None
    for n in group:
        j = tokens(n)
        if j is None: print(f"{n}: no JSON"); continue
        t = j["tokens"]; ref = t if ref is None else ref
        first = next((i for i, (a, b) in enumerate(zip(t, ref)) if a != b), None)
        print(f"{n}: {len(t)} tokens, same as {group[0]}: {t == ref} (first difference at {first}), decode {j.get('decode_tokens_per_second')} tok/s")
ref = None
for n in ["ext-cpu", "ext-cuda", "ext-cuda-nograph", "ext-big-cuda-general", "ext-big-cuda"]:
    if n == "ext-big-cuda-general": ref = None
    try: recs = {r["id"]: (r.get("text"), r.get("finish_reason"), r.get("generated_tokens")) for r in map(json.loads, open(f"{o}/{n}.jsonl"))}
    except Exception as e: print(f"{n}: no output ({e.__class__.__name__})"); continue
    ref = recs if ref is None else ref
    print(f"{n}: {len(recs)} records, {sum(recs.get(k) == v for k, v in ref.items())} equal to ext-cpu's")
PY

# 4) bandwidth, then the benches (the same export, one process per configuration)
hbm_bandwidth
B="bench --provider cuda --runs 5 --decode-steps 32 --prefill-tokens 512 --bandwidth $bw"
TMO=300 run bench-fp16 $C $B -m /tmp/r/fp16 --batch 1,32 --context 512,2048,8192 --json $o/bench-fp16.json --chart $o/bench-fp16.svg
TMO=300 run bench-fp16-general $C $B -m /tmp/r/fp16 --batch 1,32 --context 512,2048,8192 --fused-attention off --json $o/bench-fp16-general.json
[ -d "$cc/base" ] && TMO=240 run bench-fp16-base $BASE $B -m /tmp/r/fp16 --batch 1,32 --context 512,2048 --json $o/bench-fp16-base.json
TMO=240 run bench-int4 $C $B -m /tmp/r/int4 --batch 1,32 --context 512,2048 --json $o/bench-int4.json
run bench-demo $C $B -m demo-code --batch 1,16 --context 512 --json $o/bench-demo.json
TMO=240 run bench-lckv $C $B -m demo-code -m demo-code-lckv --batch 1 --context 1900 --kv-budget 268435456 --at-budget --json $o/bench-lckv.json
for i in $(seq 90); do [ "$(wc -l < /tmp/r/export.done 2>/dev/null)" -ge 4 ] && break; sleep 2; done
TMO=400 run bench-lckv-big $C $B -m /tmp/r/fp16 -m /tmp/r/lckv --batch 1 --context 2048,8192 --kv-budget 4294967296 --at-budget \
  --json $o/bench-lckv-big.json --chart $o/bench-lckv-big.svg
for f in $o/bench-*.out; do echo "-- $(basename $f)"; grep -E '^\| /tmp|^\| demo|bandwidth' $f; grep -E 'provider' ${f%.out}.err | head -2; done | tee -a $o/log.txt

# 5) profiles: per-kernel time of an uncaptured step, and proof that captured steps replay (no node events)
S="bench --provider cuda -m /tmp/r/fp16 --context 512 --runs 1 --decode-steps 8 --prefill-tokens 16 --no-bandwidth"
CONDENSA_ORT_PROFILE=$o/prof/b1-nograph run prof-b1-nograph $C $S --batch 1 --graph-capture off
CONDENSA_ORT_PROFILE=$o/prof/b32-nograph run prof-b32-nograph $C $S --batch 32 --graph-capture off
CONDENSA_ORT_PROFILE=$o/prof/b1-general run prof-b1-general $C $S --batch 1 --graph-capture off --fused-attention off
python3 "$root/tools/device/cuda/profile_summary.py" $o/prof | tee $o/prof-summary.txt
for f in $o/prof/*.json; do xz -9 "$f"; done
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,temperature.gpu --format=csv >> $o/log.txt 2>&1
log "suite done in $(( $(date +%s) - T0 )) s"
