#!/usr/bin/env bash
# Serve benchmark: for each --max-batch, start `condensa serve` on demo-code, drive it with as many streaming clients as
# rows (REQUESTS=16 requests each, TOKENS=32 tokens), print one markdown row per batch size. Usage: tools/bench/serve/run.sh [BATCHES...]
# (SERVE_ARGS="--speculative lookup" passes options to serve).
set -euo pipefail
cd "$(dirname "$0")/../../.."
dotnet build src/Cli -v q -nologo > /dev/null
port=18090
echo "| max-batch | clients | requests | SSE events | wall s | events/s | TTFT p50 ms | TTFT p99 ms | ITL p50 ms | ITL p99 ms |"
echo "|---|---|---|---|---|---|---|---|---|---|"
batches=("$@"); [ ${#batches[@]} -eq 0 ] && batches=(1 4 8 16)
for batch in "${batches[@]}"; do
  dotnet src/Cli/bin/Debug/net10.0/condensa.dll serve --model models/demo-code --port $port --max-batch "$batch" ${SERVE_ARGS:-} > /tmp/serve-bench.log 2>&1 &
  server=$!
  until curl -sf "http://127.0.0.1:$port/health" > /dev/null; do sleep 0.5; done
  row=$(dotnet run tools/bench/serve/ServeBench.cs -- "http://127.0.0.1:$port" demo-code "$batch" "${REQUESTS:-16}" "${TOKENS:-32}" | tail -1)
  echo "| $batch $row"
  kill "$server"; wait "$server" 2> /dev/null || true
done
