"""Shared pieces of the demo-model pipeline: model presets, token data, learning-rate schedule, JSON output.

Everything here is plain Python + numpy + torch; nothing reads the network.
"""
import json
import math
import os
import shutil

# Model presets. demo-code and demo-code-lckv share every dimension; only layer_types differ.
# Sizes were chosen for a ~40 MB fp16 budget for the three shipped checkpoints together.
PRESETS = {
    "demo-code": dict(
        kind="llama",
        hidden_size=256, intermediate_size=896, num_hidden_layers=8,
        num_attention_heads=4, num_key_value_heads=2, head_dim=64,
        tie_word_embeddings=False, lr=2e-3, batch=32,
    ),
    "demo-code-draft": dict(
        kind="llama",
        hidden_size=128, intermediate_size=384, num_hidden_layers=4,
        num_attention_heads=4, num_key_value_heads=2, head_dim=32,
        tie_word_embeddings=True, lr=3e-3, batch=32,
    ),
    "demo-code-lckv": dict(
        kind="lckv",
        hidden_size=256, intermediate_size=896, num_hidden_layers=8,
        num_attention_heads=4, num_key_value_heads=2, head_dim=64,
        tie_word_embeddings=False, lr=2e-3, batch=32,
        # w2 sandwich: layer 0 and the top two keep their own KV; layers 1..5 read layer 6's.
        layer_types="0_6_6_6_6_6_6_7", forward_passes=7, backward_passes=2,
        force_nodiag=True, sliding_window=4096,
    ),
    # demo-code's parameters and training, with half its layers and a KV head for each of 16 query heads: 16 KB of float16
    # KV a token against 4 KB, and half the kernels a step. Where a GPU decodes 32 x 8K tokens, reading the KV cache is
    # then most of a step (estimated ~85 % on the H200 from round 18's step times, where demo-code's is ~40 %; ~90 % of the
    # bytes a 7B MHA model's step reads are KV): MagicDec's regime, which demo-code's step, bound by its launches, never
    # reaches (docs/demo-models.md). Not in THE_THREE, the set evaluate.py measures together.
    "demo-code-mha": dict(
        kind="llama",
        hidden_size=256, intermediate_size=896, num_hidden_layers=4,
        num_attention_heads=16, num_key_value_heads=16, head_dim=64,
        tie_word_embeddings=False, lr=2e-3, batch=32,
    ),
}

# The shipped demo set the evaluation measures together (the draft drafts for demo-code; LCKV shares its dimensions).
THE_THREE = ("demo-code", "demo-code-draft", "demo-code-lckv")

COMMON = dict(
    vocab_size=4096, max_position_embeddings=8192, rms_norm_eps=1e-5, rope_theta=10000.0,
    bos_token_id=1, eos_token_id=2, initializer_range=0.02,
)

SEQ_LEN = 1024          # first-phase training window and the 1K evaluation window (tokens)
LONG_SEQ_LEN = 8192     # long-context phase: windows of the concatenated file stream reach the full context
TOKENS_PER_STEP = 32 * SEQ_LEN  # batch x window; the long phase keeps it (4 x 8192)
BOS, EOS = 1, 2
TOKENIZER_FILES = ["tokenizer.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]


def copy_tokenizer(src_dir, dst_dir, model_max_length=None):
    """Copies whichever tokenizer files exist in src_dir into dst_dir; model_max_length, when given, replaces
    that field of tokenizer_config.json (the vocabulary and every id stay as they are)."""
    os.makedirs(dst_dir, exist_ok=True)
    copied = []
    for name in TOKENIZER_FILES:
        p = os.path.join(src_dir, name)
        if os.path.exists(p):
            shutil.copyfile(p, os.path.join(dst_dir, name))
            copied.append(name)
    cfg = os.path.join(dst_dir, "tokenizer_config.json")
    if model_max_length and os.path.exists(cfg):
        with open(cfg) as f:
            c = json.load(f)
        c["model_max_length"] = model_max_length
        with open(cfg, "w") as f:
            json.dump(c, f, indent=1)
    return copied


def lr_at(step, frac, peak, warmup=100, floor=0.1):
    """Linear warmup over `warmup` steps, then cosine from peak to floor*peak over the time fraction `frac`."""
    warm = min(1.0, (step + 1) / warmup)
    cos = floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * min(1.0, frac)))
    return peak * warm * cos


def load_tokens(data_dir, split):
    """uint16 token stream of a split ('train' or 'heldout'): every file is <s> ids </s>, files concatenated."""
    import numpy as np
    return np.fromfile(os.path.join(data_dir, f"{split}.bin"), dtype=np.uint16)


def round9(x):
    """float32 value written with 9 significant digits: enough to round-trip float32 exactly."""
    return float(f"{x:.9g}")


def dump_json(obj, path):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, separators=(",", ":"))
        f.write("\n")


def save_hf(model, out_dir):
    """save_pretrained as safetensors (transformers 5 always writes safetensors; 4.x needs the flag)."""
    try:
        model.save_pretrained(out_dir, safe_serialization=True)
    except TypeError:
        model.save_pretrained(out_dir)
    assert os.path.exists(os.path.join(out_dir, "model.safetensors")), os.listdir(out_dir)


def param_count(model):
    return sum(p.numel() for p in model.parameters())


def dir_bytes(path):
    return sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path))
