"""Greedy parity of the family fixtures (tests/TestData/golden/family_e2e, made by tools/tokenizers/make_family_e2e_golden.py)
on a device provider: for each family's prompt texts and rendered chats, `condensa generate --json` with the given
arguments must give transformers' greedy continuation (the fixture's, up to and including its first stop token).
usage: python3 family_parity.py FIXTURES "CONDENSA COMMAND" [GENERATE ARGS...]   (prints one line per case, exit 1 on a miss)"""
import json, os, shlex, subprocess, sys

fixtures, command, extra = sys.argv[1], shlex.split(sys.argv[2]), sys.argv[3:]
misses = 0
for family in sorted(os.listdir(fixtures)):
    folder = os.path.join(fixtures, family)
    if not os.path.isfile(os.path.join(folder, "e2e.json")):
        continue
    golden = json.load(open(os.path.join(folder, "e2e.json")))
    cases = [(row["text"], row["continuation"]) for row in golden["rows"]]
    # a rendered Gemma chat opens with <bos>, which the tokenizer adds itself (FamilyEndToEndTests strips it likewise)
    cases += [(chat["rendered"].removeprefix("<bos>"), chat["continuation"]) for chat in golden.get("chats", [])]
    for text, want in cases:
        run = subprocess.run(command + ["generate", "--model", folder, "--prompt", text, "--max-tokens", str(golden["new_tokens"]),
                                        "--temperature", "0", "--json"] + extra, capture_output=True, text=True)
        got = json.loads(run.stdout)["tokens"] if run.returncode == 0 else None
        ok = got == want
        misses += not ok
        first = next((i for i, (a, b) in enumerate(zip(got or [], want)) if a != b), None)
        print(f"{family:7} {'ok  ' if ok else 'MISS'} {text[:40]!r:44} {'' if ok else f'first difference at {first}; rc {run.returncode} {run.stderr.strip()[-200:]}'}",
              flush=True)
print(f"{misses} of the cases differ")
sys.exit(1 if misses else 0)
