#!/bin/bash
# ab.sh BEFORE_DIR AFTER_DIR REPS: condensa extract over docs.jsonl (docs/benchmarks.md, make_docs.py) with two builds,
# each configuration run back to back on both, so both see the same load on a shared machine. One line per run
# (build, --max-tokens, --batch, --speculative, repetition, load average, documents/s, latency spread); each output is
# kept under res/ for summarize.py. Set CONDENSA_MODELS to the repository's models.json.
set -u
before=$1 after=$2 reps=$3
for r in $(seq 1 "$reps"); do for mt in 8 64; do for b in 1 8 16; do for s in none lookup; do
  for label in before after; do
    bin=$before; [ $label = after ] && bin=$after
    mkdir -p res/$label; out=res/$label/mt$mt-b$b-$s-r$r.jsonl; rm -f "$out" "$out.lock"
    line=$("$bin/condensa" extract --model demo-code --input docs.jsonl --output "$out" --prompt-template template.txt \
      --max-tokens $mt --batch $b --speculative $s --threads 2 2>/dev/null | tail -1)
    echo "$label mt$mt b$b $s r$r | load $(cut -d' ' -f1 /proc/loadavg) | $(echo "$line" | grep -o '[0-9.]* documents/s')"
  done
done; done; done; done
