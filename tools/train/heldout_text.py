#!/usr/bin/env python3
"""Writes the text of the demo models' held-out files, for `condensa bench --prompt-file`.

The demo models train on this interpreter's standard library and site-packages (corpus.py); a file is held out by
the hash of its path label, so the files written here are code no demo model saw in training, of the kind it did.
Bench's prompts cut from them give the acceptance a user's unseen code would get, where prompts cut from the project's
own docs give a 9M model text it loops on (docs/benchmarks.md, round 20).

Files in label order, each followed by a blank line, until --max-chars. Run it with the interpreter that trained the
models (on the GPU machine: python3):

    python3 tools/train/heldout_text.py --out /tmp/heldout.txt --max-chars 5000000
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from corpus import collect  # noqa: E402  (the split the training used)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--max-chars", type=int, default=5_000_000)
    ap.add_argument("--max-corpus-bytes", type=int, default=700_000_000, help="as corpus.py's, so the split is the same")
    a = ap.parse_args()
    _, held = collect(a.max_corpus_bytes)
    written, files = 0, 0
    with open(a.out, "w", encoding="utf-8") as f:
        for _, _, text in held:
            if written >= a.max_chars:
                break
            f.write(text + "\n\n")
            written += len(text) + 2
            files += 1
    print(f"{a.out}: {files} of {len(held)} held-out files, {written:,} chars")


if __name__ == "__main__":
    main()
