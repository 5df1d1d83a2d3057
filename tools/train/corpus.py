#!/usr/bin/env python3
"""Builds the code corpus, the SentencePiece tokenizer and the token streams for the demo models.

Corpus: every *.py file of the Python standard library and site-packages of the interpreter that runs this
script (on the GPU machine: /usr/lib/python3.12 and /opt/torch/.venv/.../site-packages), UTF-8 only, without
NUL bytes, 64 B .. 256 KB, deduplicated by content. A file is held out when sha1 of its path label
("stdlib/..." or "site/...") mod 1000 < 20 (2%), so the split is by file and stable across runs.

Tokenizer (--train-tokenizer): SentencePiece BPE, 4096 pieces, byte_fallback, identity normalization,
no dummy prefix, no whitespace collapsing, whitespace-only pieces allowed, digits split, "\\n" and "\\t" as
user-defined pieces; <unk>=0 <s>=1 </s>=2. Saved with the Hugging Face files (tokenizer.json,
tokenizer_config.json) after checking that transformers' tokenizer gives sentencepiece's ids on held-out files.
Without --train-tokenizer the tokenizer files are copied from --existing.

Outputs under --work: train.bin / heldout.bin (uint16, each file as <s> ids </s>), heldout_docs.json
(start offsets of the held-out files in heldout.bin), heldout_files.txt, corpus.json (counts).

Re-run (on the GPU machine): python3 tools/train/corpus.py --work /tmp/w/data --tokenizer-dir /tmp/w/tok \\
    --train-tokenizer       # or: --existing models/demo-code
"""
import argparse
import hashlib
import json
import os
import site
import sys
import sysconfig
import time

HELDOUT_PERMILLE = 20
MIN_BYTES, MAX_BYTES = 64, 256 * 1024
VOCAB_SIZE = 4096
USER_SYMBOLS = ["\n", "\t"]


def source_roots():
    """(label, path) of the standard library and every site-packages folder of this interpreter."""
    paths = sysconfig.get_paths()
    roots = [("stdlib", paths["stdlib"])]
    cands = [paths.get("purelib"), paths.get("platlib")]
    try:
        cands += site.getsitepackages()
    except Exception:
        pass
    seen = {os.path.realpath(paths["stdlib"])}
    for p in cands:
        if p and os.path.isdir(p) and os.path.realpath(p) not in seen:
            seen.add(os.path.realpath(p))
            roots.append(("site", p))
    return roots


def is_heldout(label):
    return int(hashlib.sha1(label.encode()).hexdigest()[:8], 16) % 1000 < HELDOUT_PERMILLE


def collect(max_total_bytes):
    """Returns (train, heldout): lists of (label, path, text), sorted by label; duplicates by content dropped."""
    seen_hash, docs = set(), []
    for tag, root in source_roots():
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__"
                                 and not (tag == "stdlib" and d in ("site-packages", "dist-packages")))
            for fn in sorted(filenames):
                if not fn.endswith(".py"):
                    continue
                path = os.path.join(dirpath, fn)
                try:
                    if os.path.islink(path):
                        continue
                    size = os.path.getsize(path)
                    if not (MIN_BYTES <= size <= MAX_BYTES):
                        continue
                    raw = open(path, "rb").read()
                except OSError:
                    continue
                if b"\x00" in raw:
                    continue
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError:
                    continue
                h = hashlib.sha1(raw).digest()
                if h in seen_hash:
                    continue
                seen_hash.add(h)
                label = f"{tag}/{os.path.relpath(path, root)}"
                docs.append((label, path, text))
    docs.sort(key=lambda d: d[0])
    total = sum(len(d[2]) for d in docs)
    if total > max_total_bytes:  # keep a deterministic subset: files ordered by the hash of their label
        keep, acc = set(), 0
        for d in sorted(docs, key=lambda d: hashlib.sha1(d[0].encode()).hexdigest()):
            if acc >= max_total_bytes:
                break
            keep.add(d[0]); acc += len(d[2])
        docs = [d for d in docs if d[0] in keep]
    train = [d for d in docs if not is_heldout(d[0])]
    held = [d for d in docs if is_heldout(d[0])]
    return train, held


def train_tokenizer(train_docs, out_dir, sample_bytes, threads):
    import sentencepiece as spm
    os.makedirs(out_dir, exist_ok=True)
    # Tokenizer sample: lines of train files taken in hash order of the file label (deterministic).
    sample = os.path.join(out_dir, "spm_sample.txt")
    acc = 0
    with open(sample, "w", encoding="utf-8") as f:
        for d in sorted(train_docs, key=lambda d: hashlib.sha1(d[0].encode()).hexdigest()):
            for line in d[2].split("\n"):
                line = line.rstrip("\r")
                if line.strip() and len(line.encode()) < 4000:
                    f.write(line + "\n"); acc += len(line) + 1
            if acc >= sample_bytes:
                break
    if hasattr(spm, "set_random_generator_seed"):
        spm.set_random_generator_seed(1234)
    spm.SentencePieceTrainer.train(
        input=sample, model_prefix=os.path.join(out_dir, "tokenizer"), model_type="bpe",
        vocab_size=VOCAB_SIZE, character_coverage=0.9999, byte_fallback=True,
        normalization_rule_name="identity", remove_extra_whitespaces=False, add_dummy_prefix=False,
        allow_whitespace_only_pieces=True, split_digits=True, split_by_whitespace=True,
        user_defined_symbols=USER_SYMBOLS, max_sentence_length=4096,
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1, unk_piece="<unk>", bos_piece="<s>", eos_piece="</s>",
        input_sentence_size=4_000_000, shuffle_input_sentence=False, num_threads=threads, minloglevel=1,
    )
    os.remove(sample)
    os.remove(os.path.join(out_dir, "tokenizer.vocab"))
    return os.path.join(out_dir, "tokenizer.model")


TOKENIZER_CONFIG = {
    "tokenizer_class": "LlamaTokenizer",
    "add_bos_token": True,
    "add_eos_token": False,
    "add_prefix_space": False,   # sentencepiece model has add_dummy_prefix=false; HF must not prepend "▁"
    "legacy": False,
    "bos_token": "<s>",
    "eos_token": "</s>",
    "unk_token": "<unk>",
    "pad_token": None,
    "clean_up_tokenization_spaces": False,
    "model_max_length": 8192,    # = max_position_embeddings of the demo models (common.COMMON)
    "sp_model_kwargs": {},
    "added_tokens_decoder": {
        str(i): {"content": c, "lstrip": False, "normalized": False, "rstrip": False,
                 "single_word": False, "special": True}
        for i, c in [(0, "<unk>"), (1, "<s>"), (2, "</s>")]
    },
}


def manual_tokenizer_json(model_path, path):
    """tokenizer.json built directly from the sentencepiece pieces (vocab + merges ranked by merged piece id)."""
    import sentencepiece as spm
    from tokenizers import AddedToken, Tokenizer, decoders, pre_tokenizers, processors
    from tokenizers.models import BPE
    sp = spm.SentencePieceProcessor(model_file=model_path)
    vocab = {sp.id_to_piece(i): i for i in range(sp.get_piece_size())}
    merges = []
    for piece, pid in vocab.items():
        if sp.is_control(pid) or sp.is_unknown(pid) or sp.is_byte(pid) or piece in USER_SYMBOLS or len(piece) < 2:
            continue
        for k in range(1, len(piece)):
            l, r = piece[:k], piece[k:]
            if l in vocab and r in vocab:
                merges.append((pid, vocab[l], vocab[r], l, r))
    merges.sort()
    tok = Tokenizer(BPE(vocab=vocab, merges=[(m[3], m[4]) for m in merges], unk_token="<unk>",
                        fuse_unk=True, byte_fallback=True))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="never", split=False)
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()])
    tok.add_special_tokens([AddedToken(c, special=True, normalized=False) for c in ("<unk>", "<s>", "</s>")])
    tok.add_tokens([AddedToken(c, special=False, normalized=False) for c in USER_SYMBOLS])
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", 1)])
    tok.save(path)


def check_hf(tok_dir, held_texts, log):
    """Loads the saved HF tokenizer the way users will (AutoTokenizer) and compares with sentencepiece."""
    import sentencepiece as spm
    from transformers import AutoTokenizer
    sp = spm.SentencePieceProcessor(model_file=os.path.join(tok_dir, "tokenizer.model"))
    hf = AutoTokenizer.from_pretrained(tok_dir)
    edge = ["", " ", "  leading spaces", "x = 1234567890\n", "\tif a:\n\t\treturn b\r\n", "a  b   c    ",
            "é中文🙂 and \u200d", "def f():\n    pass\n\n\n"]
    texts = edge + held_texts
    bad_ids = bad_dec = bad_rt = 0
    for t in texts:
        ids = sp.encode(t)
        if sp.decode(ids) != t:
            bad_rt += 1
        h = hf(t)["input_ids"]
        if h != [1] + ids:
            bad_ids += 1
            if bad_ids <= 3:
                log(f"  HF ids differ on {t[:60]!r}: spm {[1] + ids[:12]} hf {h[:13]}")
        if hf.decode(ids) != t:
            bad_dec += 1
            if bad_dec <= 3:
                log(f"  HF decode differs on {t[:60]!r}: {hf.decode(ids)[:60]!r}")
    log(f"  checked {len(texts)} texts: spm roundtrip failures {bad_rt}, HF id mismatches {bad_ids}, "
        f"HF decode mismatches {bad_dec} (HF class {type(hf).__name__})")
    return bad_ids == 0 and bad_dec == 0 and bad_rt == 0


def build_hf_files(tok_dir, held_texts, log):
    """Writes tokenizer.json + tokenizer_config.json next to tokenizer.model; keeps the variant that matches."""
    cfg_path = os.path.join(tok_dir, "tokenizer_config.json")
    json_path = os.path.join(tok_dir, "tokenizer.json")
    with open(cfg_path, "w") as f:
        json.dump(TOKENIZER_CONFIG, f, indent=1)
    variants = []
    # A) transformers' own conversion of the sentencepiece model, saved by save_pretrained.
    try:
        from transformers import LlamaTokenizer
        t = LlamaTokenizer.from_pretrained(tok_dir, add_prefix_space=False, legacy=False)
        tmp = tok_dir + "_hf"
        t.save_pretrained(tmp)
        if os.path.exists(os.path.join(tmp, "tokenizer.json")):
            variants.append(("transformers-converted", open(os.path.join(tmp, "tokenizer.json")).read()))
    except Exception as e:  # noqa: BLE001
        log(f"  transformers conversion failed: {e!r}")
    # B) built here from the pieces.
    try:
        manual_tokenizer_json(os.path.join(tok_dir, "tokenizer.model"), json_path + ".manual")
        variants.append(("manual", open(json_path + ".manual").read()))
        os.remove(json_path + ".manual")
    except Exception as e:  # noqa: BLE001
        log(f"  manual tokenizer.json failed: {e!r}")
    for name, content in variants:
        with open(json_path, "w") as f:
            f.write(content)
        with open(cfg_path, "w") as f:
            json.dump(TOKENIZER_CONFIG, f, indent=1)
        log(f"tokenizer.json variant: {name}")
        if check_hf(tok_dir, held_texts, log):
            log(f"  -> keeping {name}")
            return name
    os.remove(json_path)
    log("  no tokenizer.json variant matched; shipping tokenizer.model + tokenizer_config.json only")
    if check_hf(tok_dir, held_texts, log):
        return "sentencepiece-only"
    return None


def tokenize(docs, model_path, threads, batch=2000):
    import numpy as np
    import sentencepiece as spm
    sp = spm.SentencePieceProcessor(model_file=model_path)
    parts, starts, pos = [], [], 0
    for i in range(0, len(docs), batch):
        texts = [d[2] for d in docs[i:i + batch]]
        for ids in sp.encode(texts, num_threads=threads):
            a = np.empty(len(ids) + 2, dtype=np.uint16)
            a[0], a[-1] = 1, 2
            a[1:-1] = ids
            parts.append(a); starts.append(pos); pos += len(a)
    return (np.concatenate(parts) if parts else np.zeros(0, np.uint16)), starts


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", required=True, help="output folder for the token streams")
    ap.add_argument("--tokenizer-dir", required=True, help="where the tokenizer files end up")
    ap.add_argument("--train-tokenizer", action="store_true")
    ap.add_argument("--existing", help="folder holding tokenizer.model (+ HF files) to reuse")
    ap.add_argument("--max-corpus-bytes", type=int, default=700_000_000)
    ap.add_argument("--spm-sample-bytes", type=int, default=40_000_000)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 8)
    a = ap.parse_args()
    t0 = time.time()
    log = lambda s: print(f"[corpus {time.time() - t0:6.1f}s] {s}", flush=True)  # noqa: E731
    os.makedirs(a.work, exist_ok=True)
    log(f"roots: {source_roots()}")
    train, held = collect(a.max_corpus_bytes)
    tb, hb = sum(len(d[2]) for d in train), sum(len(d[2]) for d in held)
    log(f"files: train {len(train)} ({tb / 1e6:.1f} MB chars), heldout {len(held)} ({hb / 1e6:.1f} MB chars)")

    if a.train_tokenizer:
        model_path = train_tokenizer(train, a.tokenizer_dir, a.spm_sample_bytes, a.threads)
        log(f"trained {model_path}")
        check_texts = [d[2] for d in held[:300]]
        variant = build_hf_files(a.tokenizer_dir, check_texts, log)
        with open(os.path.join(a.tokenizer_dir, "tokenizer_check.json"), "w") as f:
            json.dump({"hf_variant": variant, "checked_heldout_files": len(check_texts)}, f)
    else:
        from common import copy_tokenizer
        copied = copy_tokenizer(a.existing, a.tokenizer_dir)
        log(f"reusing tokenizer from {a.existing}: {copied}")
        model_path = os.path.join(a.tokenizer_dir, "tokenizer.model")

    import numpy as np
    tr, _ = tokenize(train, model_path, a.threads)
    ho, ho_starts = tokenize(held, model_path, a.threads)
    tr.tofile(os.path.join(a.work, "train.bin"))
    ho.tofile(os.path.join(a.work, "heldout.bin"))
    with open(os.path.join(a.work, "heldout_docs.json"), "w") as f:
        json.dump(ho_starts, f)
    with open(os.path.join(a.work, "heldout_files.txt"), "w") as f:
        f.write("\n".join(d[0] for d in held) + "\n")
    meta = {
        "roots": source_roots(), "python": sys.version.split()[0],
        "train_files": len(train), "train_chars": tb, "train_tokens": int(len(tr)),
        "heldout_files": len(held), "heldout_chars": hb, "heldout_tokens": int(len(ho)),
        "chars_per_token_heldout": hb / max(1, len(ho) - 2 * len(held)),
        "heldout_rule": f"sha1(label) % 1000 < {HELDOUT_PERMILLE}",
    }
    with open(os.path.join(a.work, "corpus.json"), "w") as f:
        json.dump(meta, f, indent=1)
    log(f"tokens: train {len(tr):,} heldout {len(ho):,}; chars/token {meta['chars_per_token_heldout']:.2f}")
    assert int(np.max(tr)) < VOCAB_SIZE


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    main()
