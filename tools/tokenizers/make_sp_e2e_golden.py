#!/usr/bin/env python3
"""SentencePiece tokenizers end to end, made on the GPU machine (sentencepiece 0.2.2, transformers 5.17, torch):

    python3 tools/tokenizers/make_sp_e2e_golden.py tests/TestData/tokenizers/sp_norm $OUT/sp_e2e

1. Checks every golden table of sp_norm (made by make_sp_normalizer_golden.py, possibly with another
   sentencepiece) against this machine's sentencepiece: ids and decode of every row, for the tokenizer.model
   rebuilt exactly as the tests rebuild it (model.base + the shared character map). Writes check.json.
2. For each case in E2E: a tiny random LlamaForCausalLM over that tokenizer's vocabulary, saved by transformers
   as float16 (config.json, generation_config.json, model.safetensors), and e2e.json: for each prompt, sentencepiece's
   ids (BOS first) and transformers' greedy continuation of them (eager attention, the whole sequence recomputed
   every step, stopping after EOS). The test runs `condensa generate` on the checkpoint with the case's
   tokenizer.model and the prompt text and must give the same ids. Copy <case>/ into tests/TestData/golden/sp_e2e/.
"""
import gzip
import json
import os
import sys

import sentencepiece as spm

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_sp_normalizer_golden import with_charsmap  # noqa: E402  the tests' rebuild, in one place

E2E = ["bpe_nmt_nfkc", "unigram_nmt_nfkc", "bpe_identity_collapse"]
PROMPTS = [
    "x",
    "def add(a, b):\n    return a + b\n",
    "Full-width ＡＢＣ and\u00a0no-break space,   runs   of spaces",
    "\ttabbed\tline\nand ① the ligature ﬁ",
]
NEW_TOKENS = 16


def rebuilt_model(root, case, golden):
    """model.base, plus a second normalizer_spec holding the shared precompiled_charsmap (protobuf merges the two)."""
    model = open(os.path.join(root, case, "model.base"), "rb").read()
    if not golden.get("charsmap"):
        return model
    return with_charsmap(model, gzip.open(os.path.join(root, "charsmaps", golden["charsmap"])).read())


def check(root, cases):
    report = {"sentencepiece": spm.__version__, "cases": {}}
    for case in cases:
        golden = json.load(open(os.path.join(root, case, "golden.json")))
        sp = spm.SentencePieceProcessor(model_proto=rebuilt_model(root, case, golden))
        mismatches = []
        for row in golden["rows"]:
            ids = sp.encode(row["text"])
            if ids != row["ids"] or sp.decode(row["ids"]) != row["decoded"]:
                mismatches.append({"text": row["text"], "ids": ids, "golden": row["ids"], "decoded": sp.decode(row["ids"])})
        report["cases"][case] = {"rows": len(golden["rows"]), "mismatches": mismatches}
        print(f"check {case}: {len(golden['rows'])} rows, {len(mismatches)} differ from the golden table", flush=True)
    return report


def e2e(root, case, out):
    import torch
    import transformers
    golden = json.load(open(os.path.join(root, case, "golden.json")))
    proto = rebuilt_model(root, case, golden)
    sp = spm.SentencePieceProcessor(model_proto=proto)
    bos, eos = sp.bos_id(), sp.eos_id()
    torch.manual_seed(1234 + E2E.index(case))
    config = transformers.LlamaConfig(vocab_size=sp.get_piece_size(), hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                                      num_key_value_heads=2, head_dim=16, intermediate_size=128, max_position_embeddings=256,
                                      bos_token_id=bos, eos_token_id=eos, initializer_range=0.08, rms_norm_eps=1e-6,
                                      tie_word_embeddings=False)
    config._attn_implementation = "eager"
    model = transformers.LlamaForCausalLM(config).half().float().eval()   # the weights as float16 stores them
    folder = os.path.join(out, case)
    os.makedirs(folder, exist_ok=True)
    model.half().save_pretrained(folder, safe_serialization=True)
    model.float()
    rows = []
    with torch.no_grad():
        for text in PROMPTS:
            ids = [bos] + sp.encode(text)
            sequence = list(ids)
            continuation = []
            for _ in range(NEW_TOKENS):
                logits = model(input_ids=torch.tensor([sequence])).logits[0, -1]
                token = int(torch.argmax(logits))
                continuation.append(token)
                sequence.append(token)
                if token == eos:
                    break
            rows.append({"text": text, "prompt_ids": ids, "continuation": continuation})
    json.dump({"case": case, "sentencepiece": spm.__version__, "transformers": transformers.__version__, "torch": torch.__version__,
               "new_tokens": NEW_TOKENS, "rows": rows}, open(os.path.join(folder, "e2e.json"), "w"), ensure_ascii=False, indent=1)
    print(f"e2e {case}: vocab {config.vocab_size}, {len(rows)} prompts", flush=True)


def main():
    root, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    cases = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)) and d != "charsmaps")
    json.dump(check(root, cases), open(os.path.join(out, "check.json"), "w"), ensure_ascii=False, indent=1)
    for case in E2E:
        e2e(root, case, out)


if __name__ == "__main__":
    main()
