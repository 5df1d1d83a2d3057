#!/usr/bin/env python3
"""Trains small tokenizers and writes golden tables for Condensa.Tokenization tests.

Run on the GPU machine (it has tokenizers, transformers, sentencepiece and tiktoken; no network):

    python3 tools/tokenizers/make_golden.py --out $OUT

Everything is trained from text that exists there (the Python standard library sources plus a few
multilingual lines below), so no download is needed. The result is one archive, bundle.tar.gz, whose
contents go to tests/TestData/tokenizers/:

    <name>/...            tokenizer files of one checkpoint folder (tokenizer.json, tokenizer.model, ...)
    <name>/golden.json    ids, decodes and vocabulary facts from the reference library
    chat/<family>/tokenizer_config.json, chat/golden.json   chat templates and apply_chat_template output

Each step is guarded: a failure is logged and the other steps still run.
"""
import argparse
import base64
import glob
import io
import json
import os
import random
import sysconfig
import tarfile
import traceback

LLAMA3_PAT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
              r"|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_PAT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
             r"|\s*[\r\n]+|\s+(?!\S)|\s+")

MULTILINGUAL = [
    "你好，世界！这是一个测试。我们正在训练一个分词器。",
    "日本語のテキストと한국어 텍스트도 있습니다.",
    "Ünïcödé façade naïve café résumé — “quotes” ‘single’ … €100",
    "emoji: 😀🎉👍🏽 and 👨‍👩‍👧 family ❤️ 🚀",
    "Привет, мир! Γειά σου Κόσμε! مرحبا بالعالم",
]

# Texts every tokenizer is checked on; {special} texts are added per tokenizer below.
TEXTS = [
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "def add(a, b):\n    return a + b\n",
    "class Foo:\n    def __init__(self):\n        self.x = [1, 2, 3]  # comment\n",
    "if x:\n\tpass\n\n\n",
    "你好，世界！这是一个测试。",
    "日本語のテキストと한국어",
    "emoji: 😀🎉👍🏽 and 👨‍👩‍👧",
    "   leading spaces",
    "trailing spaces   ",
    "a  b   c    d",
    "\n\n\nnewlines\n",
    "tabs\t\tand\r\nCRLF",
    "numbers 1234567890 3.14159",
    "MiXeD CaSe and 'quotes' \"double\" don't I'll",
    "",
    " ",
    "for i in range(10):\n        print(i)      \n\n    x = {'k': None}\n",
]

LOG = []


def log(*args):
    line = " ".join(str(a) for a in args)
    print(line, flush=True)
    LOG.append(line)


def guarded(name, fn, *args):
    try:
        log(f"== {name}")
        return fn(*args)
    except Exception:
        log(f"!! {name} failed:\n{traceback.format_exc()}")
        return None


def corpus_lines(max_bytes=2_000_000):
    stdlib = sysconfig.get_paths()["stdlib"]
    files = sorted(glob.glob(os.path.join(stdlib, "*.py")))
    lines, total = [], 0
    for path in files:
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except Exception:
            continue
        for line in text.split("\n"):
            lines.append(line + "\n")
            total += len(line) + 1
        if total > max_bytes:
            break
    for _ in range(40):
        lines.extend(m + "\n" for m in MULTILINGUAL)
    random.Random(0).shuffle(lines)
    log(f"corpus: {len(lines)} lines, {total} bytes from {stdlib}")
    return lines


def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=1)


def added_tokens_decoder(entries):
    return {str(i): {"content": c, "lstrip": False, "normalized": False, "rstrip": False,
                     "single_word": False, "special": True} for c, i in entries}


# ---------------------------------------------------------------------------------------------
# Hugging Face tokenizers: byte-level BPE (tokenizer.json) and GPT-2 files (vocab.json + merges.txt)
# ---------------------------------------------------------------------------------------------

def train_bytelevel(lines, pat, specials, ignore_merges, nfc, vocab_size=1000):
    from tokenizers import Tokenizer, models, trainers, pre_tokenizers, decoders, normalizers, Regex, AddedToken
    try:
        model = models.BPE(ignore_merges=ignore_merges)
    except TypeError:
        log("models.BPE has no ignore_merges; using default")
        model = models.BPE()
    tok = Tokenizer(model)
    if nfc:
        tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(pat), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), special_tokens=[])
    tok.train_from_iterator(lines, trainer)
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    return tok


def hf_golden(tok, texts, add_special=True):
    rows = []
    for t in texts:
        enc = tok.encode(t, add_special_tokens=add_special)
        ids = enc.ids
        rows.append({
            "text": t,
            "ids": ids,
            "ids_no_special": tok.encode(t, add_special_tokens=False).ids,
            "tokens": enc.tokens,
            "decoded": tok.decode(ids, skip_special_tokens=True),
            "decoded_keep_special": tok.decode(ids, skip_special_tokens=False),
        })
    return rows


def make_llama3(lines, out):
    from tokenizers import processors
    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
    tok = train_bytelevel(lines, LLAMA3_PAT, specials, ignore_merges=True, nfc=False)
    bos = tok.token_to_id("<|begin_of_text|>")
    tok.post_processor = processors.TemplateProcessing(
        single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A <|begin_of_text|> $B",
        special_tokens=[("<|begin_of_text|>", bos)])
    d = os.path.join(out, "llama3_bpe")
    os.makedirs(d, exist_ok=True)
    tok.save(os.path.join(d, "tokenizer.json"))
    ids = {s: tok.token_to_id(s) for s in specials}
    write_json(os.path.join(d, "tokenizer_config.json"), {
        "added_tokens_decoder": added_tokens_decoder(ids.items()),
        "bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>", "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": 8192})
    write_json(os.path.join(d, "generation_config.json"), {
        "bos_token_id": bos, "eos_token_id": [ids["<|end_of_text|>"], ids["<|eot_id|>"]]})
    texts = TEXTS + ["<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>",
                     "text<|end_of_text|>more <|eot_id|>"]
    write_json(os.path.join(d, "golden.json"), {
        "library": "tokenizers", "vocab_size": tok.get_vocab_size(with_added_tokens=True),
        "bos_token_id": bos, "eos_token_ids": [ids["<|end_of_text|>"], ids["<|eot_id|>"]], "pad_token_id": None,
        "rows": hf_golden(tok, texts)})
    return tok, ids


def make_qwen2(lines, out):
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tok = train_bytelevel(lines, QWEN2_PAT, specials, ignore_merges=False, nfc=True)
    d = os.path.join(out, "qwen2_bpe")
    os.makedirs(d, exist_ok=True)
    tok.save(os.path.join(d, "tokenizer.json"))
    ids = {s: tok.token_to_id(s) for s in specials}
    write_json(os.path.join(d, "tokenizer_config.json"), {
        "added_tokens_decoder": added_tokens_decoder(ids.items()),
        "bos_token": None, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>",
        "tokenizer_class": "Qwen2Tokenizer", "errors": "replace"})
    write_json(os.path.join(d, "generation_config.json"), {
        "bos_token_id": ids["<|endoftext|>"], "eos_token_id": [ids["<|im_end|>"], ids["<|endoftext|>"]],
        "pad_token_id": ids["<|endoftext|>"]})
    texts = TEXTS + ["<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n",
                     "a<|endoftext|>b"]
    write_json(os.path.join(d, "golden.json"), {
        "library": "tokenizers", "vocab_size": tok.get_vocab_size(with_added_tokens=True),
        "bos_token_id": None, "eos_token_ids": [ids["<|im_end|>"], ids["<|endoftext|>"]],
        "pad_token_id": ids["<|endoftext|>"], "rows": hf_golden(tok, texts)})


def make_gpt2(lines, out):
    from tokenizers import Tokenizer, models, trainers, pre_tokenizers, decoders, AddedToken
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=800, min_frequency=2, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), special_tokens=[])
    tok.train_from_iterator(lines, trainer)
    d = os.path.join(out, "gpt2_files")
    os.makedirs(d, exist_ok=True)
    tok.model.save(d)
    vocab_path, merges_path = os.path.join(d, "vocab.json"), os.path.join(d, "merges.txt")
    with open(vocab_path, encoding="utf-8") as f:
        vocab = json.load(f)
    eot = len(vocab)
    vocab["<|endoftext|>"] = eot
    with open(vocab_path, "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    # Reload from the files exactly as a checkpoint folder holds them.
    tok = Tokenizer(models.BPE.from_file(vocab_path, merges_path))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken("<|endoftext|>", special=True, normalized=False)])
    write_json(os.path.join(d, "tokenizer_config.json"), {
        "added_tokens_decoder": added_tokens_decoder([("<|endoftext|>", eot)]), "add_bos_token": False,
        "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>",
        "tokenizer_class": "GPT2Tokenizer"})
    texts = TEXTS + ["hello<|endoftext|>world", "<|endoftext|>"]
    write_json(os.path.join(d, "golden.json"), {
        "library": "tokenizers", "vocab_size": tok.get_vocab_size(with_added_tokens=True),
        "bos_token_id": eot, "eos_token_ids": [eot], "pad_token_id": None,
        "rows": hf_golden(tok, texts)})


def make_tiktoken(llama3, out):
    import tiktoken
    tok, special_ids = llama3
    from tokenizers import pre_tokenizers  # noqa: F401  (byte map below mirrors ByteLevel)
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    byte_decoder = {chr(c): b for b, c in zip(bs, cs)}
    vocab = tok.get_vocab(with_added_tokens=False)
    ranks = {}
    for s, i in vocab.items():
        ranks[bytes(byte_decoder[ch] for ch in s)] = i
    assert sorted(ranks.values()) == list(range(len(ranks))), "ranks must be contiguous"
    enc = tiktoken.Encoding(name="condensa_test", pat_str=LLAMA3_PAT, mergeable_ranks=ranks,
                            special_tokens=dict(special_ids))
    d = os.path.join(out, "tiktoken_files")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "tokenizer.model"), "w", encoding="ascii") as f:
        for b, r in sorted(ranks.items(), key=lambda kv: kv[1]):
            f.write(f"{base64.b64encode(b).decode('ascii')} {r}\n")
    bos = special_ids["<|begin_of_text|>"]
    write_json(os.path.join(d, "tokenizer_config.json"), {
        "added_tokens_decoder": added_tokens_decoder(special_ids.items()),
        "bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"})
    texts = TEXTS + ["<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>"]
    rows = []
    for t in texts:
        ids = enc.encode(t, allowed_special="all")
        keep = enc.decode(ids)
        skip = enc.decode([i for i in ids if i not in special_ids.values()])
        rows.append({"text": t, "ids": [bos] + ids, "ids_no_special": ids, "decoded": skip,
                     "decoded_keep_special": "<|begin_of_text|>" + keep})
    write_json(os.path.join(d, "golden.json"), {
        "library": "tiktoken", "vocab_size": max(special_ids.values()) + 1, "bos_token_id": bos,
        "eos_token_ids": [special_ids["<|eot_id|>"]], "pad_token_id": None, "rows": rows})


# ---------------------------------------------------------------------------------------------
# SentencePiece: Llama 2 style (dummy prefix) and code style (no dummy prefix, newline symbols)
# ---------------------------------------------------------------------------------------------

def train_sp(lines, path_prefix, add_dummy_prefix, user_symbols, chunk):
    import sentencepiece as spm
    if chunk > 1:
        sents = ["".join(lines[i:i + chunk]) for i in range(0, len(lines), chunk)]
    else:
        sents = [l.rstrip("\n") for l in lines]
    sents = [s for s in sents if s.strip()]
    kwargs = dict(model_prefix=path_prefix, model_type="bpe", vocab_size=1000, byte_fallback=True,
                  normalization_rule_name="identity", remove_extra_whitespaces=False,
                  add_dummy_prefix=add_dummy_prefix, split_digits=True, allow_whitespace_only_pieces=True,
                  unk_id=0, bos_id=1, eos_id=2, pad_id=-1, character_coverage=0.9995, num_threads=8,
                  max_sentence_length=16384, input_sentence_size=200000, shuffle_input_sentence=True,
                  )
    if user_symbols:
        kwargs["user_defined_symbols"] = user_symbols
    spm.SentencePieceTrainer.train(sentence_iterator=iter(sents), **kwargs)
    return spm.SentencePieceProcessor(model_file=path_prefix + ".model")


def auto_tokenizer(d):
    """transformers' AutoTokenizer for a tokenizer folder, or None where it cannot be built here."""
    try:
        from transformers import AutoTokenizer
        t = AutoTokenizer.from_pretrained(d)
        log(f"transformers loaded {type(t).__name__} from {d}")
        return t
    except Exception:
        log(f"AutoTokenizer failed for {d}:\n{traceback.format_exc()}")
    return None


def make_sp(lines, out, name, add_dummy_prefix, user_symbols, chunk, legacy):
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    prefix = os.path.join(d, "tokenizer")
    try:
        sp = train_sp(lines, prefix, add_dummy_prefix, user_symbols, chunk)
    except Exception:
        log(f"training {name} with user symbols failed, retrying without:\n{traceback.format_exc()}")
        user_symbols = []
        sp = train_sp(lines, prefix, add_dummy_prefix, user_symbols, chunk)
    os.remove(prefix + ".vocab")
    write_json(os.path.join(d, "tokenizer_config.json"), {
        "add_bos_token": True, "add_eos_token": False,
        "added_tokens_decoder": added_tokens_decoder([("<unk>", 0), ("<s>", 1), ("</s>", 2)]),
        "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": None,
        "legacy": legacy, "tokenizer_class": "LlamaTokenizer", "sp_model_kwargs": {},
        "clean_up_tokenization_spaces": False})
    write_json(os.path.join(d, "generation_config.json"), {"bos_token_id": 1, "eos_token_id": 2})
    write_sp_golden(d, sp, user_symbols, add_dummy_prefix)


SP_SPECIALS = {"<unk>": 0, "<s>": 1, "</s>": 2}


def sp_without_dummy_prefix(path):
    """The same model with normalizer_spec.add_dummy_prefix off: how text after a special token is encoded."""
    import sentencepiece as spm
    try:
        from sentencepiece import sentencepiece_model_pb2 as pb
    except Exception:
        log(f"no sentencepiece_model_pb2 ({traceback.format_exc()}); using transformers' <unk>-prefix trick")
        sp = spm.SentencePieceProcessor(model_file=path)

        class NoPrefix:
            @staticmethod
            def encode(text):
                unk = sp.encode("<unk>")
                return sp.encode("<unk>" + text)[len(unk):]
        return NoPrefix()
    m = pb.ModelProto()
    with open(path, "rb") as f:
        m.ParseFromString(f.read())
    m.normalizer_spec.add_dummy_prefix = False
    return spm.SentencePieceProcessor(model_proto=m.SerializeToString())


def split_specials(text, specials=SP_SPECIALS):
    """Plain-text segments (str) and special tokens' ids (int, from `specials`), leftmost-longest, as Hugging Face
    matches added tokens."""
    out, i, start = [], 0, 0
    while i < len(text):
        hit = next((t for t in sorted(specials, key=len, reverse=True) if text.startswith(t, i)), None)
        if hit is None:
            i += 1
            continue
        if i > start:
            out.append(text[start:i])
        out.append(specials[hit])
        i += len(hit)
        start = i
    if start < len(text):
        out.append(text[start:])
    return out


def sp_encode_with_specials(sp, sp_no_prefix, text):
    """sentencepiece ids with special tokens parsed as transformers' LlamaTokenizer (legacy=False) does:
    text that opens the input gets the model's dummy prefix, text after a special token gets none."""
    ids = []
    for k, seg in enumerate(split_specials(text)):
        if isinstance(seg, int):
            ids.append(seg)
        else:
            ids.extend((sp if k == 0 else sp_no_prefix).encode(seg))
    return ids


def write_sp_golden(d, sp, user_symbols, add_dummy_prefix):
    import sentencepiece as spm  # noqa: F401
    path = os.path.join(d, "tokenizer.model")
    sp_no_prefix = sp_without_dummy_prefix(path)
    texts = TEXTS + ["<s>[INST] Hi there [/INST] Hello</s>", "a</s>b", "</s> after"]
    hf = auto_tokenizer(d)
    rows = []
    for t in texts:
        ids = sp_encode_with_specials(sp, sp_no_prefix, t)
        row = {"text": t, "ids": [1] + ids, "ids_no_special": ids, "pieces": [sp.id_to_piece(i) for i in ids],
               "decoded": sp.decode(ids),
               # transformers' decode keeps special tokens as text; it follows the model's prefix only when there is one
               "decoded_keep_special": None}
        if hf is not None:
            try:
                hids = hf(t, add_special_tokens=True)["input_ids"]
                row["hf_ids"] = hids
                row["hf_decoded"] = hf.decode(hids, skip_special_tokens=True)
                if add_dummy_prefix:
                    row["decoded_keep_special"] = hf.decode([1] + ids, skip_special_tokens=False)
                log(f"{os.path.basename(d)} {t!r}: sp rule {'==' if [1] + ids == hids else '!='} transformers")
            except Exception:
                log(f"hf encode failed on {t!r}:\n{traceback.format_exc()}")
        rows.append(row)
    write_json(os.path.join(d, "golden.json"), {
        "library": "sentencepiece", "hf_class": type(hf).__name__ if hf is not None else None,
        "user_defined_symbols": user_symbols, "add_dummy_prefix": add_dummy_prefix,
        "vocab_size": sp.get_piece_size(), "bos_token_id": 1, "eos_token_ids": [2], "pad_token_id": None,
        "rows": rows})


def regolden_sp(folder):
    """Recomputes the SentencePiece golden tables of already trained models (tests/TestData/tokenizers/sp_*)."""
    import sentencepiece as spm
    for name, prefix, symbols in (("sp_llama2", True, []), ("sp_code", False, ["\n", "\t"])):
        d = os.path.join(folder, name)
        sp = spm.SentencePieceProcessor(model_file=os.path.join(d, "tokenizer.model"))
        guarded(f"golden {name}", write_sp_golden, d, sp, symbols, prefix)


# ---------------------------------------------------------------------------------------------
# Chat templates, as published with each family's instruct checkpoint
# ---------------------------------------------------------------------------------------------

CHAT_TEMPLATES = {
    # meta-llama/Llama-2-7b-chat-hf
    "llama2": (r"{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\n' + system_message + '\n<</SYS>>\n\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}",
               "<s>", "</s>"),
    # meta-llama/Meta-Llama-3-8B-Instruct
    "llama3": ("{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}",
               "<|begin_of_text|>", "<|eot_id|>"),
    # mistralai/Mistral-7B-Instruct-v0.3
    "mistral": ("{%- if messages[0]['role'] == 'system' %}\n    {%- set system_message = messages[0]['content'] %}\n    {%- set loop_messages = messages[1:] %}\n{%- else %}\n    {%- set loop_messages = messages %}\n{%- endif %}\n\n{{- bos_token }}\n{%- for message in loop_messages %}\n    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}\n        {{- raise_exception('After the optional system message, conversation roles must alternate user/assistant/user/assistant/...') }}\n    {%- endif %}\n    {%- if message['role'] == 'user' %}\n        {%- if loop.last and system_message is defined %}\n            {{- '[INST] ' + system_message + '\\n\\n' + message['content'] + '[/INST]' }}\n        {%- else %}\n            {{- '[INST] ' + message['content'] + '[/INST]' }}\n        {%- endif %}\n    {%- elif message['role'] == 'assistant' %}\n        {{- ' ' + message['content']|trim + eos_token}}\n    {%- else %}\n        {{- raise_exception('Only user and assistant roles are supported, with the exception of an initial optional system message!') }}\n    {%- endif %}\n{%- endfor %}\n",
                "<s>", "</s>"),
    # Qwen/Qwen2-7B-Instruct
    "chatml": ("{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}",
               None, "<|im_end|>"),
    # microsoft/Phi-3-mini-4k-instruct (Phi-3, Phi-3.5-mini)
    "phi3": ("{% for message in messages %}{% if message['role'] == 'system' %}{{'<|system|>\n' + message['content'] + '<|end|>\n'}}"
             "{% elif message['role'] == 'user' %}{{'<|user|>\n' + message['content'] + '<|end|>\n'}}"
             "{% elif message['role'] == 'assistant' %}{{'<|assistant|>\n' + message['content'] + '<|end|>\n'}}{% endif %}{% endfor %}"
             "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %}",
             "<s>", "<|endoftext|>"),
    # google/gemma-3-1b-it (text content; Gemma 2's template is the same without the system message, which it refuses)
    "gemma": ("{{ bos_token }}\n{%- if messages[0]['role'] == 'system' -%}\n    {%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}\n"
              "    {%- set loop_messages = messages[1:] -%}\n{%- else -%}\n    {%- set first_user_prefix = \"\" -%}\n"
              "    {%- set loop_messages = messages -%}\n{%- endif -%}\n{%- for message in loop_messages -%}\n"
              "    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}\n"
              "        {{ raise_exception(\"Conversation roles must alternate user/assistant/user/assistant/...\") }}\n    {%- endif -%}\n"
              "    {%- if (message['role'] == 'assistant') -%}\n        {%- set role = \"model\" -%}\n    {%- else -%}\n"
              "        {%- set role = message['role'] -%}\n    {%- endif -%}\n"
              "    {{ '<start_of_turn>' + role + '\\n' + (first_user_prefix if loop.first else \"\") }}\n"
              "    {{- message['content'] | trim -}}\n    {{ '<end_of_turn>\\n' }}\n{%- endfor -%}\n"
              "{%- if add_generation_prompt -%}\n    {{'<start_of_turn>model\\n'}}\n{%- endif -%}\n",
              "<bos>", "<eos>"),
    # TinyLlama/TinyLlama-1.1B-Chat-v1.0 (Zephyr format)
    "zephyr": ("{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'system' %}\n{{ '<|system|>\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n{% endif %}\n{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}",
               "<s>", "</s>"),
}

CONVERSATIONS = {
    "system_user_assistant_user": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "Hello! What is 2+2?"},
        {"role": "assistant", "content": "2+2 equals 4."},
        {"role": "user", "content": "And 3+3?"},
    ],
    "user_assistant_user": [
        {"role": "user", "content": "Write a haiku."},
        {"role": "assistant", "content": "  Leaves fall softly\nwinds carry them home  \n"},
        {"role": "user", "content": "  Now one about code.\n"},
    ],
    "user_only": [
        {"role": "user", "content": "你好 😀"},
    ],
}


def render_chat(template, bos, eos, messages, add_generation_prompt, tok_obj):
    """apply_chat_template of transformers; the jinja environment it uses where that is unavailable."""
    try:
        from transformers import PreTrainedTokenizerFast
        kwargs = {"eos_token": eos}
        if bos is not None:
            kwargs["bos_token"] = bos
        t = PreTrainedTokenizerFast(tokenizer_object=tok_obj, **kwargs)
        t.chat_template = template
        rendered = t.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_generation_prompt)
        if isinstance(rendered, str):
            return rendered, "transformers.apply_chat_template"
        log(f"apply_chat_template returned {type(rendered).__name__}, not str")
    except Exception:
        log(f"apply_chat_template failed:\n{traceback.format_exc()}")
    return jinja_render(template, messages, add_generation_prompt, bos, eos), "jinja2"


def jinja_render(template, messages, add_generation_prompt, bos, eos, **kwargs):
    """A chat template rendered in the Jinja environment transformers sets up for one (trim_blocks, lstrip_blocks,
    loop controls, tojson, raise_exception), for where apply_chat_template is unavailable."""
    import jinja2.ext
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(msg):
        raise ValueError(msg)
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = lambda x, indent=None: json.dumps(x, ensure_ascii=False, indent=indent)
    env.globals["raise_exception"] = raise_exception
    return env.from_string(template).render(messages=messages, add_generation_prompt=add_generation_prompt,
                                            bos_token=bos or "", eos_token=eos or "", **kwargs)


def make_chat(out, tok_obj):
    import copy
    golden = {}
    for family, (template, bos, eos) in CHAT_TEMPLATES.items():
        write_json(os.path.join(out, "chat", family, "tokenizer_config.json"), {
            "bos_token": bos, "eos_token": eos, "chat_template": template})
        cases = []
        for conv_name, messages in CONVERSATIONS.items():
            for agp in (True, False):
                try:
                    rendered, how = render_chat(template, bos, eos, copy.deepcopy(messages), agp, tok_obj)
                    cases.append({"conversation": conv_name, "add_generation_prompt": agp, "rendered": rendered,
                                  "renderer": how})
                except Exception as e:
                    cases.append({"conversation": conv_name, "add_generation_prompt": agp, "error": str(e)})
                    log(f"chat {family}/{conv_name}/{agp}: {e}")
        golden[family] = {"bos_token": bos, "eos_token": eos, "cases": cases}
    write_json(os.path.join(out, "chat", "golden.json"), {"conversations": CONVERSATIONS, "families": golden})


def versions():
    v = {}
    for m in ("tokenizers", "transformers", "sentencepiece", "tiktoken", "jinja2"):
        try:
            v[m] = __import__(m).__version__
        except Exception as e:
            v[m] = f"unavailable: {e}"
    log("versions:", v)
    return v


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--chat-only", metavar="TOKENIZER_JSON",
                    help="only the chat templates and their renders, with this tokenizer.json as the tokenizer object")
    ap.add_argument("--sp-golden-only", metavar="DIR",
                    help="only recompute the golden tables of the SentencePiece models already in DIR")
    args = ap.parse_args()
    if args.chat_only:
        from tokenizers import Tokenizer
        versions()
        make_chat(args.out, Tokenizer.from_file(args.chat_only))
        with open(os.path.join(args.out, "log.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(LOG))
        return
    if args.sp_golden_only:
        import shutil
        stage = os.path.join(args.out, "stage")
        for name in ("sp_llama2", "sp_code"):
            shutil.copytree(os.path.join(args.sp_golden_only, name), os.path.join(stage, name))
        versions()
        regolden_sp(stage)
        with open(os.path.join(args.out, "log.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(LOG))
        with tarfile.open(os.path.join(args.out, "bundle.tar.gz"), "w:gz") as tar:
            tar.add(stage, arcname=".")
        shutil.rmtree(stage)
        return
    stage = os.path.join(args.out, "stage")
    os.makedirs(stage, exist_ok=True)
    v = versions()
    lines = corpus_lines()
    llama3 = guarded("llama3_bpe", make_llama3, lines, stage)
    guarded("qwen2_bpe", make_qwen2, lines, stage)
    guarded("gpt2_files", make_gpt2, lines, stage)
    if llama3 is not None:
        guarded("tiktoken_files", make_tiktoken, llama3, stage)
    guarded("sp_llama2", make_sp, lines, stage, "sp_llama2", True, [], 1, False)
    guarded("sp_code", make_sp, lines, stage, "sp_code", False, ["\n", "\t"], 8, False)
    guarded("chat", make_chat, stage, llama3[0] if llama3 is not None else None)
    write_json(os.path.join(stage, "versions.json"), v)
    with open(os.path.join(args.out, "log.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(LOG))
    with tarfile.open(os.path.join(args.out, "bundle.tar.gz"), "w:gz") as tar:
        tar.add(stage, arcname=".")
    import shutil
    shutil.rmtree(stage)


if __name__ == "__main__":
    main()
