cd /work/main; C="dotnet src/Cli/bin/Release/net10.0/condensa.dll"
for r in 1 2 3; do for f in off on; do for m in demo-code /tmp/d4; do
  $C bench -m $m --batch 1,16 --context 512,1536 --runs 5 --decode-steps 16 --threads 2 --no-bandwidth --fused-attention $f 2>/dev/null | grep -E "^\| (demo|/tmp)" | sed "s/^/round $r fused $f /"
done; done; done
