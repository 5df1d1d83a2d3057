# Round 34 (g): exporter 20 (this checkout) against f8e5908 (a worktree at /tmp/base-cpu, models/ linked) on the 2-core CPU, app, base, app, base
set -u
# git worktree add -f --detach /tmp/base-cpu f8e5908; (cd /tmp/base-cpu && rm -rf models && ln -s /work/main/models models
# && dotnet build src/Cli -c Release); dotnet build src/Cli -c Release
cat tools/train/*.py tools/device/cuda/*.py > /tmp/heldout-local.txt   # 137,101 bytes of Python at 398c66f
for r in 1 2; do
 for v in app:/work/main base:/tmp/base-cpu; do
  d=${v#*:}; n=${v%%:*}
  (cd /work/main && CONDENSA_CACHE=/tmp/cc-$n dotnet $d/src/Cli/bin/Release/net10.0/condensa.dll bench --speculative none,self@12,self -m models/demo-code-mha --batch 1,2 --context 1024,2048 --max-tokens 96 --runs 1 --threads 2 --prompt-file /tmp/heldout-local.txt > /tmp/cpuab-$n-$r.out 2>&1)
 done
done
