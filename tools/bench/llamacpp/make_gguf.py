#!/usr/bin/env python3
"""Writes a random-weight llama GGUF (v3) at TinyLlama-1.1B's dimensions, F16 or Q4_0: make-gguf.mjs's layout and
quantizer for machines with Python and NumPy but no Node.js (the GPU machine). Same header, metadata, vocabulary and
tensor list as make-gguf.mjs (see it for the format notes); the weights are NumPy normals, since decode speed does not
depend on their values.

    python3 make_gguf.py --type f16|q4_0 --out FILE.gguf [--seed 1]
"""
import argparse
import struct

import numpy as np

SHAPE = dict(hidden=2048, layers=22, heads=32, kv_heads=4, head_dim=64, ffn=5632, vocab=32000, context=2048,
             rms_eps=1e-5, rope_theta=10000.0)
ALIGNMENT = 32
# ggml_type id, bytes per block, elements per block; llama_ftype for general.file_type
GGML = {"f32": (0, 4, 1), "f16": (1, 2, 1), "q4_0": (2, 18, 32)}
FILE_TYPE = {"f16": 1, "q4_0": 2}
UINT32, INT32, FLOAT32, BOOL, STRING, ARRAY = 4, 5, 6, 7, 8, 9


def gguf_string(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def gguf_value(vtype, value):
    if vtype == STRING:
        return gguf_string(value)
    return struct.pack({UINT32: "<I", INT32: "<i", FLOAT32: "<f", BOOL: "<?"}[vtype], value)


def gguf_kv(key, vtype, value, item_type=None):
    out = gguf_string(key) + struct.pack("<I", vtype)
    if vtype != ARRAY:
        return out + gguf_value(vtype, value)
    return out + struct.pack("<IQ", item_type, len(value)) + b"".join(gguf_value(item_type, v) for v in value)


def vocabulary(n):
    """<unk>, <s>, </s>, the 256 byte tokens llama.cpp's SPM vocabulary needs, then unique pieces."""
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    types = [2, 3, 3] + [6] * 256
    tokens += [f"\u2581t{i}" for i in range(len(tokens), n)]
    types += [1] * (n - len(types))
    scores = [float(-i) if t == 1 else 0.0 for i, t in enumerate(types)]
    return tokens, scores, types


def tensors(wtype):
    s = SHAPE
    q, kv = s["heads"] * s["head_dim"], s["kv_heads"] * s["head_dim"]
    out = [("token_embd.weight", [s["hidden"], s["vocab"]], wtype)]
    for l in range(s["layers"]):
        p = f"blk.{l}."
        out += [(p + "attn_norm.weight", [s["hidden"]], "f32"), (p + "attn_q.weight", [s["hidden"], q], wtype),
                (p + "attn_k.weight", [s["hidden"], kv], wtype), (p + "attn_v.weight", [s["hidden"], kv], wtype),
                (p + "attn_output.weight", [q, s["hidden"]], wtype), (p + "ffn_norm.weight", [s["hidden"]], "f32"),
                (p + "ffn_gate.weight", [s["hidden"], s["ffn"]], wtype), (p + "ffn_up.weight", [s["hidden"], s["ffn"]], wtype),
                (p + "ffn_down.weight", [s["ffn"], s["hidden"]], wtype)]
    out += [("output_norm.weight", [s["hidden"]], "f32"), ("output.weight", [s["hidden"], s["vocab"]], wtype)]
    return out


def nbytes(ne, ttype):
    _, block_bytes, block_size = GGML[ttype]
    return int(np.prod(ne)) // block_size * block_bytes


def quantize_q4_0(x):
    """ggml's quantize_row_q4_0_ref: per 32 values d = (the value of largest magnitude) / -8, q = min(15, trunc(x/d + 8.5)),
    stored as fp16 d then 16 bytes (low nibbles: elements 0..15, high nibbles: 16..31)."""
    blocks = x.reshape(-1, 32)
    extreme = blocks[np.arange(len(blocks)), np.abs(blocks).argmax(axis=1)]
    d = extreme / -8
    inv = np.divide(1.0, d, out=np.zeros_like(d), where=d != 0)
    q = np.minimum(15, np.trunc(blocks * inv[:, None] + 8.5)).astype(np.uint8)
    packed = q[:, :16] | (q[:, 16:] << 4)
    out = np.empty((len(blocks), 18), dtype=np.uint8)
    out[:, :2] = d.astype(np.float16).view(np.uint8).reshape(-1, 2)
    out[:, 2:] = packed
    return out.tobytes()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--type", choices=["f16", "q4_0"], required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--context", type=int, default=SHAPE["context"], help="llama.context_length (the shape's is 2048)")
    args = ap.parse_args()
    s, wtype = SHAPE, args.type
    tokens, scores, types = vocabulary(s["vocab"])
    kvs = [("general.architecture", STRING, "llama"), ("general.name", STRING, f"random tinyllama-1.1b {wtype} seed {args.seed}"),
           ("general.file_type", UINT32, FILE_TYPE[wtype]), ("general.quantization_version", UINT32, 2),
           ("general.alignment", UINT32, ALIGNMENT), ("llama.vocab_size", UINT32, s["vocab"]),
           ("llama.context_length", UINT32, args.context), ("llama.embedding_length", UINT32, s["hidden"]),
           ("llama.block_count", UINT32, s["layers"]), ("llama.feed_forward_length", UINT32, s["ffn"]),
           ("llama.rope.dimension_count", UINT32, s["head_dim"]), ("llama.attention.head_count", UINT32, s["heads"]),
           ("llama.attention.head_count_kv", UINT32, s["kv_heads"]),
           ("llama.attention.layer_norm_rms_epsilon", FLOAT32, s["rms_eps"]), ("llama.rope.freq_base", FLOAT32, s["rope_theta"]),
           ("tokenizer.ggml.model", STRING, "llama"), ("tokenizer.ggml.tokens", ARRAY, tokens, STRING),
           ("tokenizer.ggml.scores", ARRAY, scores, FLOAT32), ("tokenizer.ggml.token_type", ARRAY, types, INT32),
           ("tokenizer.ggml.unknown_token_id", UINT32, 0), ("tokenizer.ggml.bos_token_id", UINT32, 1),
           ("tokenizer.ggml.eos_token_id", UINT32, 2), ("tokenizer.ggml.add_bos_token", BOOL, True),
           ("tokenizer.ggml.add_eos_token", BOOL, False)]
    plan = tensors(wtype)
    header = struct.pack("<IIQQ", 0x46554747, 3, len(plan), len(kvs)) + b"".join(gguf_kv(*kv) for kv in kvs)
    offset = 0
    for name, ne, ttype in plan:
        header += gguf_string(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", d) for d in ne)
        header += struct.pack("<IQ", GGML[ttype][0], offset)
        offset += -(-nbytes(ne, ttype) // ALIGNMENT) * ALIGNMENT
    header += b"\0" * (-len(header) % ALIGNMENT)
    rng = np.random.default_rng(args.seed)
    with open(args.out, "wb") as f:
        f.write(header)
        for name, ne, ttype in plan:
            count = int(np.prod(ne))
            if ttype == "f32":
                data = np.ones(count, dtype=np.float32).tobytes()
            else:
                x = rng.standard_normal(count, dtype=np.float32) * np.float32(0.02)
                data = x.astype(np.float16).tobytes() if ttype == "f16" else quantize_q4_0(x)
            f.write(data + b"\0" * (-len(data) % ALIGNMENT))
    print(f"{args.out}: {len(plan)} tensors, {wtype}, {offset + len(header):,} bytes")


if __name__ == "__main__":
    main()
