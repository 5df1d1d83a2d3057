"""Greedy-token parity of generate runs: `first_diff.py DIR NAME...` reads DIR/NAME.out (generate --json, the JSON on
its last line) and prints, for each run, its token count and the first index where it leaves the first run's tokens."""
import json
import sys

out, names = sys.argv[1], sys.argv[2:]
ref = None
for name in names:
    try:
        tokens = json.loads(open(f"{out}/{name}.out").read().strip().splitlines()[-1])["tokens"]
    except Exception:
        print(f"{name}: no JSON")
        continue
    ref = tokens if ref is None else ref
    first = next((i for i, (a, b) in enumerate(zip(tokens, ref)) if a != b), None)
    print(f"{name}: {len(tokens)} tokens, first difference from {names[0]} at {first}")
