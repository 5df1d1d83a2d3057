#!/usr/bin/env python3
"""Golden tables for SentencePiece normalizer specs (tests/TestData/tokenizers/sp_norm/).

Needs only sentencepiece and protobuf for Python; on Debian (no PyPI needed):

    apt-get install -y python3-sentencepiece python3-protobuf
    /usr/bin/python3 tools/tokenizers/make_sp_normalizer_golden.py tests/TestData/tokenizers/sp_norm

Trains one small model per case below (BPE and Unigram; nmt_nfkc, nfkc, identity and a tiny custom rule
table; with and without remove_extra_whitespaces, dummy prefix and whitespace-as-suffix) from the text in
this file, and writes for each case <case>/model.base and <case>/golden.json: the ids sentencepiece gives
each input (no BOS) and sentencepiece's decode of them. demo_code.json holds the same for the shipped demo
models' tokenizer.model (models/demo-code).

The nmt_nfkc and nfkc character maps are about 240 KB each, the same bytes in every model trained with that
rule, so they are kept once, gzipped, as charsmaps/<rule>.bin.gz and cut out of model.base; golden.json names
the map. A test rebuilds the full tokenizer.model by appending to model.base a second normalizer_spec that
holds only precompiled_charsmap: protobuf merges repeated message fields, and this script checks that
sentencepiece gives the same ids for the rebuilt bytes as for the trained model.
"""
import gzip
import json
import os
import sys
import tempfile

import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2 as model_pb2

CORPUS = """\
The quick brown fox jumps over the lazy dog. A tokenizer turns text into pieces and pieces into ids.
Sentencepiece normalizes text before it splits it: the character map first, then whitespace rules.
def add(a, b):
    return a + b
	tabs	and	newlines
are whitespace too, and so is the no-break\u00a0space in some texts.
Full-width letters ＡＢＣ and digits １２３ become ASCII under NFKC; the ligature ﬁ becomes fi.
你好，世界！这是一个测试。日本語のテキスト。한국어 텍스트.
Ünïcödé façade naïve café résumé — “quotes” ‘single’ … €100
emoji 😀 and 🚀 are rare, so byte fallback spells them out.
Numbers like 3.14159 and 2,048 and 100% appear in benchmarks; model names like Llama-2-7B appear too.
In the beginning the pieces are characters; merges and a unigram language model make longer pieces.
abc abd abx ab cd cde — the custom rules below map some of these sequences.
"""

# Inputs every case is checked on: whitespace of every kind, NBSP, full-width, CJK, emoji (byte fallback),
# one character, the empty string, and text that only the character map turns into something else.
INPUTS = [
    "", "x", "a", " ", "  ", "\n", "\t", "😀", "ＡＢＣ",
    " x", "x ", "  leading and trailing  ", "runs   of    spaces", "a\nb", "line one\n\nline two\n",
    "tab\tseparated\tvalues", "\r\nwindows line\r\n", "no-break\u00a0space", "\u00a0\u00a0nbsp first",
    "full-width ＡＢＣ １２３ ！", "ideographic\u3000space", "the ligature ﬁ and ① circled",
    "emoji 😀 🚀 👍🏽", "CJK 你好世界 日本語", "decomposed e\u0301 and composed é",
    "zero\u200bwidth and soft\u00adhyphen", "def add(a, b):\n    return a + b\n", "▁ literal marker",
    "abc abd abx ab cd cde abcd", "The quick brown fox jumps over the lazy dog.",
    "ＡＢＣ<sep>ab\nＡＢ  ab<sep>\n\n", " <sep> ",
]

# Random strings from characters the rules treat specially, seeded so the tables are stable.
RANDOM_POOL = list("abcdex ABC.,") + ["<sep>", " ", "  ", "\t", "\n", "\r", "\u00a0", "\u3000", "\u2581", "\u200b", "Ａ", "ｂ", "１",
                                          "ﬁ", "①", "é", "e\u0301", "你", "好", "😀", "👍🏽", "\u0000", "\u00ad", "ab", "abc", "cde"]
RANDOM_COUNT = 40


def random_inputs():
    import random
    rng = random.Random(17)
    return ["".join(rng.choice(RANDOM_POOL) for _ in range(rng.randint(1, 12))) for _ in range(RANDOM_COUNT)]


# A custom rule table (normalization_rule_tsv): source code points, tab, target code points. Overlapping
# sources ("a b" and "a b c") check the longest-prefix match of the character map's trie.
CUSTOM_RULES = [
    ("61 62", "58"),          # ab  -> X
    ("61 62 63", "59"),       # abc -> Y
    ("63 64 65", "5A 5A"),    # cde -> ZZ
    ("9", "20"),              # tab -> space
    ("A0", "20"),             # NBSP -> space
    ("FF21", "41"),           # full-width A -> A
]
# A denormalizer (denormalization_rule_tsv): applied to decoded text.
CUSTOM_DENORMALIZER = [("58", "61 62"), ("59", "61 62 63")]

# name: (model_type, normalization, remove_extra_whitespaces, add_dummy_prefix, treat_whitespace_as_suffix, denormalize)
CASES = {
    "bpe_nmt_nfkc":              ("bpe",     "nmt_nfkc", True,  True,  False, False),
    "unigram_nmt_nfkc":          ("unigram", "nmt_nfkc", True,  True,  False, False),
    "unigram_nmt_nfkc_keep_ws":  ("unigram", "nmt_nfkc", False, True,  False, False),
    "bpe_nfkc_keep_ws":          ("bpe",     "nfkc",     False, True,  False, False),
    "unigram_nfkc":              ("unigram", "nfkc",     True,  False, False, False),
    "bpe_identity_collapse":     ("bpe",     "identity", True,  True,  False, False),
    "unigram_identity_keep_ws":  ("unigram", "identity", False, True,  False, False),
    "unigram_custom_suffix":     ("unigram", "custom",   True,  True,  True,  True),
    "bpe_custom_suffix_keep_ws": ("bpe",     "custom",   False, True,  True,  False),
}
# User-defined pieces are matched before the character map (so "ＡＢ" stays full-width) and never split.
USER_SYMBOLS = {
    "bpe_nmt_nfkc_user":     ["\n", "ＡＢ", "<sep>", "ab"],
    "unigram_nmt_nfkc_user": ["\n", "ＡＢ", "<sep>", "ab"],
}
CASES["bpe_nmt_nfkc_user"] = ("bpe", "nmt_nfkc", True, True, False, False)
CASES["unigram_nmt_nfkc_user"] = ("unigram", "nmt_nfkc", True, True, False, False)
SHARED_MAPS = ("nmt_nfkc", "nfkc")


def write_rules(path, rules):
    with open(path, "w", encoding="utf-8") as f:
        for source, target in rules:
            f.write(f"{source}\t{target}\n")


def train(case, tmp):
    model_type, rule, remove_ws, dummy, suffix, denorm = CASES[case]
    corpus = os.path.join(tmp, "corpus.txt")
    with open(corpus, "w", encoding="utf-8") as f:
        for _ in range(3):
            f.write(CORPUS)
    args = dict(input=corpus, model_prefix=os.path.join(tmp, case), model_type=model_type, vocab_size=400,
                hard_vocab_limit=False, byte_fallback=True, character_coverage=1.0,
                remove_extra_whitespaces=remove_ws, add_dummy_prefix=dummy, treat_whitespace_as_suffix=suffix,
                split_by_whitespace=True, num_threads=1, minloglevel=2)
    if case in USER_SYMBOLS:
        args["user_defined_symbols"] = USER_SYMBOLS[case]
    if rule == "custom":
        rules = os.path.join(tmp, "rules.tsv")
        write_rules(rules, CUSTOM_RULES)
        args["normalization_rule_tsv"] = rules
    else:
        args["normalization_rule_name"] = rule
    if denorm:
        rules = os.path.join(tmp, "denorm.tsv")
        write_rules(rules, CUSTOM_DENORMALIZER)
        args["denormalization_rule_tsv"] = rules
    spm.SentencePieceTrainer.train(**args)
    with open(os.path.join(tmp, case + ".model"), "rb") as f:
        return f.read()


def compact_json(golden):
    """golden.json with one row per line: small, and a changed row shows as one changed line."""
    head = {k: v for k, v in golden.items() if k != "rows"}
    rows = ",\n  ".join(json.dumps(row, ensure_ascii=False) for row in golden["rows"])
    return json.dumps(head, ensure_ascii=False)[:-1] + ', "rows": [\n  ' + rows + "\n]}\n"


def with_charsmap(base, charsmap):
    """base ++ a second normalizer_spec (ModelProto field 3) holding only precompiled_charsmap (field 2)."""
    def varint(n):
        out = bytearray()
        while n >= 0x80:
            out.append((n & 0x7F) | 0x80)
            n >>= 7
        out.append(n)
        return bytes(out)
    spec = b"\x12" + varint(len(charsmap)) + charsmap
    return base + b"\x1a" + varint(len(spec)) + spec


def main(out):
    os.makedirs(os.path.join(out, "charsmaps"), exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for case, (_, rule, *_rest) in CASES.items():
            trained = train(case, tmp)
            proto = model_pb2.ModelProto()
            proto.ParseFromString(trained)
            for field in ("input", "model_prefix"):          # temporary paths: cleared so that re-runs give the same bytes
                proto.trainer_spec.ClearField(field)
            for spec in (proto.normalizer_spec, proto.denormalizer_spec):
                spec.ClearField("normalization_rule_tsv")
            charsmap = proto.normalizer_spec.precompiled_charsmap
            shared = rule in SHARED_MAPS and len(charsmap) > 0
            if shared:
                with gzip.GzipFile(os.path.join(out, "charsmaps", rule + ".bin.gz"), "wb", mtime=0) as f:
                    f.write(charsmap)
                proto.normalizer_spec.precompiled_charsmap = b""
            base = proto.SerializeToString(deterministic=True)
            rebuilt = with_charsmap(base, charsmap) if shared else base

            reference = spm.SentencePieceProcessor(model_proto=trained)
            trained_ids = [reference.encode(text) for text in INPUTS + random_inputs()]
            sp = spm.SentencePieceProcessor(model_proto=rebuilt)
            rows = []
            for text, expected in zip(INPUTS + random_inputs(), trained_ids):
                ids = sp.encode(text)
                assert ids == expected, (case, text)
                rows.append({"text": text, "ids": ids, "pieces": sp.encode(text, out_type=str),
                             "decoded": sp.decode(ids)})
            folder = os.path.join(out, case)
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, "model.base"), "wb") as f:
                f.write(base)
            golden = {"sentencepiece": spm.__version__, "charsmap": rule + ".bin.gz" if shared else None,
                      "model_type": CASES[case][0], "normalization": rule, "bos_id": sp.bos_id(),
                      "vocab_size": sp.get_piece_size(), "rows": rows}
            with open(os.path.join(folder, "golden.json"), "w", encoding="utf-8") as f:
                f.write(compact_json(golden))
            print(f"{case}: {len(base)} bytes + {'shared ' + rule if shared else 'own'} map, vocab {sp.get_piece_size()}")


def shipped_model_golden(out):
    """The same inputs for the shipped demo models' tokenizer.model (identity BPE, user-defined "\\n" "\\t")."""
    repo = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    sp = spm.SentencePieceProcessor(model_file=os.path.join(repo, "models", "demo-code", "tokenizer.model"))
    texts = INPUTS + random_inputs() + ["def f(x):\n\tif x:\n        return  x  \n\n\n", "    \t  \n  indented"]
    rows = [{"text": t, "ids": sp.encode(t), "pieces": sp.encode(t, out_type=str), "decoded": sp.decode(sp.encode(t))}
            for t in texts]
    golden = {"sentencepiece": spm.__version__, "model_file": "models/demo-code/tokenizer.model", "bos_id": sp.bos_id(),
              "vocab_size": sp.get_piece_size(), "rows": rows}
    with open(os.path.join(out, "demo_code.json"), "w", encoding="utf-8") as f:
        f.write(compact_json(golden))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
    shipped_model_golden(sys.argv[1])
