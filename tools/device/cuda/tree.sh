#!/usr/bin/env bash
# Fits the working tree into a device call beside a carried folder (64 MiB in all): the tracked models/ (57 MB), tests/
# (8 MB) and tools/bench/results (8 MB) travel with every call unless they are out of the tree.
#
#   bash tools/device/cuda/tree.sh slim [MODEL...]   moves the three to $STASH (default /tmp/condensa-stash), then copies
#                                                     back models/MODEL for each MODEL named, with demo-code's tokenizer
#                                                     files where a model's tokenizer.from names ../demo-code
#   bash tools/device/cuda/tree.sh restore           puts the three back (a slim tree's model copies are dropped)
#
# Between the two, `git status` shows the stashed files deleted: never commit then. Round 21's calls: `slim` for install.sh
# with .cuda/a, `slim demo-code-mha demo-code-draft` for the calls after it (README.md of tools/bench/results/cuda-h200/round21).
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd); stash=${STASH:-/tmp/condensa-stash}; cd "$root"
case "${1:-}" in
  slim)
    shift
    if [ ! -d "$stash/models" ]; then
      [ -n "$(git status --porcelain -- models tests tools/bench/results)" ] && { echo "uncommitted changes under models/, tests/ or tools/bench/results: commit them first" >&2; exit 1; }
      mkdir -p "$stash/bench" && mv models tests "$stash/" && mv tools/bench/results "$stash/bench/"
    fi
    rm -rf models && mkdir -p models
    for m in "$@"; do
      [ -d "$stash/models/$m" ] || { echo "no model '$m' in models/" >&2; exit 1; }
      cp -r "$stash/models/$m" models/
      if [ "$(cat "models/$m/tokenizer.from" 2>/dev/null)" = ../demo-code ] && [ ! -d models/demo-code ]; then
        mkdir -p models/demo-code
        for f in config.json generation_config.json tokenizer.json tokenizer.model tokenizer_config.json; do cp "$stash/models/demo-code/$f" models/demo-code/; done
      fi
    done
    git ls-files -z --cached --others --exclude-standard | xargs -0 du -cb 2>/dev/null | tail -1 | awk '{printf "%.1f MB travel with a call\n", $1 / 1e6}';;
  restore)
    [ -d "$stash/models" ] || { echo "nothing stashed in $stash" >&2; exit 1; }
    rm -rf models && mv "$stash/models" "$stash/tests" . && mv "$stash/bench/results" tools/bench/ && rm -rf "$stash"
    git status --short | head;;
  *) echo "usage: tree.sh slim [MODEL...] | restore" >&2; exit 2;;
esac
