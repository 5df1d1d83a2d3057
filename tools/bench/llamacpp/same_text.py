#!/usr/bin/env python3
"""Whether condensa's greedy continuation is the start of llama.cpp's, on one prompt: the prompt file both were given,
llama-speculative-simple's stdout (it prints the BOS as <s>, the prompt, then what it generated; it may run a few tokens
past -n), and `condensa generate --json`'s output for the same prompt file. Prints the characters the two continuations
share and exits 1 where condensa's is not a prefix of llama.cpp's.

    python3 tools/bench/llamacpp/same_text.py PROMPT.txt LLAMA.out CONDENSA.json [...more triples]
"""
import json
import sys


def continuation(llama_out, prompt):
    text = llama_out.split("<s>", 1)[-1]
    if not text.startswith(prompt):
        raise SystemExit(f"llama.cpp's output does not start with the prompt file's text (after <s>)")
    return text[len(prompt):]


def main(paths):
    if not paths or len(paths) % 3:
        sys.exit(__doc__)
    same = True
    for prompt_path, llama_path, condensa_path in zip(*[iter(paths)] * 3):
        read = lambda p: open(p, encoding="utf-8").read()
        theirs = continuation(read(llama_path), read(prompt_path))
        ours = json.loads(read(condensa_path))["text"]
        shared = next((i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b), min(len(ours), len(theirs)))
        same &= shared == len(ours)
        print(f"{llama_path}: condensa {len(ours)} chars, llama.cpp {len(theirs)}, the first {shared} the same"
              + ("" if shared == len(ours) else " (condensa's is NOT a prefix of llama.cpp's)"))
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main(sys.argv[1:])
