# prefill at batch 1: condensa's one 512-token chunk (bench, median of 7 after a warm-up) against llama-bench pp512, rotating
C="dotnet /work/main/src/Cli/bin/Release/net10.0/condensa.dll"
bins=/tmp/llamapeer/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64
for r in 1 2 3; do
  for p in int4:q4_0 int8:q8_0; do
    e=${p%%:*}; g=${p#*:}
    c=$($C bench -m /tmp/wBbench/$e --batch 1 --context 512 --runs 1 --decode-steps 1 --prefill-tokens 512 --threads 2 --no-bandwidth 2>/dev/null | grep -E '^\| /tmp' | awk -F'|' '{print $9}')
    l=$(cd $bins && /tmp/llamapeer/llama-bench/llama-bench -m /tmp/wBbench/tinyllama-1.1b-$g.gguf -p 512 -n 0 -t 2 -r 3 -ngl 0 -fa auto -o jsonl 2>/dev/null | python3 -c "import sys,json; r=[json.loads(l) for l in sys.stdin if l.strip()]; print(round(sorted(r[0]['samples_ts'])[1],1))")
    echo "round $r $e: condensa prefill(512) $c tok/s, llama-bench pp512 $l tok/s (load $(cut -d' ' -f1 /proc/loadavg))"
  done
done
