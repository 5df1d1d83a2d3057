#!/usr/bin/env python3
"""Writes a llama GGUF (v3) for llama.cpp, the peer of condensa bench:

- random weights at TinyLlama-1.1B's dimensions, F16 or Q4_0: make-gguf.mjs's layout and quantizer for machines with
  Python and NumPy but no Node.js (the GPU machine). Same header, metadata, vocabulary and tensor list as make-gguf.mjs
  (see it for the format notes); the weights are NumPy normals, since decode speed does not depend on their values.
- with --checkpoint, a Hugging Face Llama checkpoint's own dimensions and weights (safetensors, read here without the
  safetensors package), F32, F16 or Q4_0, so llama.cpp decodes the very model condensa does (demo-code-mha). Query
  and key rows are reordered for llama.cpp's rotary layout (adjacent pairs, where Hugging Face rotates the two halves
  of a head). The vocabulary is the placeholder (tools that feed token ids need no other), or with --tokenizer the
  checkpoint's SentencePiece model's, so llama.cpp tokenizes text as condensa does.

    python3 make_gguf.py --type f16|q4_0 --out FILE.gguf [--seed 1]
    python3 make_gguf.py --checkpoint DIR [--tokenizer DIR] --type f32|f16|q4_0 --out FILE.gguf
"""
import argparse
import json
import pathlib
import struct

import numpy as np

SHAPE = dict(hidden=2048, layers=22, heads=32, kv_heads=4, head_dim=64, ffn=5632, vocab=32000, context=2048,
             rms_eps=1e-5, rope_theta=10000.0)
ALIGNMENT = 32
# ggml_type id, bytes per block, elements per block; llama_ftype for general.file_type
GGML = {"f32": (0, 4, 1), "f16": (1, 2, 1), "q4_0": (2, 18, 32)}
FILE_TYPE = {"f32": 0, "f16": 1, "q4_0": 2}
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


def protobuf_fields(data):
    """(field number, value) of a protobuf message: varints as ints, 32-bit values and length-delimited ones as bytes."""
    i = 0

    def varint():
        nonlocal i
        value = shift = 0
        while True:
            byte = data[i]
            i += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value

    while i < len(data):
        key = varint()
        wire = key & 7
        if wire == 0:
            value = varint()
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            value, i = data[i:i + size], i + size
        elif wire == 2:
            size = varint()
            value, i = data[i:i + size], i + size
        else:
            raise SystemExit(f"unsupported protobuf wire type {wire}")
        yield key >> 3, value


def sentencepiece_vocabulary(path):
    """tokens, scores, token types and add_dummy_prefix of a SentencePiece model (ModelProto: 1 = pieces {1 piece,
    2 score, 3 type}, 3 = normalizer_spec {3 add_dummy_prefix}). Its piece types are GGUF's token types (1 normal,
    2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte), and llama.cpp's `llama` tokenizer merges by these scores
    as SentencePiece's BPE does."""
    tokens, scores, types, dummy_prefix = [], [], [], True
    for field, value in protobuf_fields(path.read_bytes()):
        if field == 1:
            piece = {1: b"", 2: struct.pack("<f", 0.0), 3: 1}
            piece.update(protobuf_fields(value))
            tokens.append(piece[1].decode("utf-8"))
            scores.append(struct.unpack("<f", piece[2])[0])
            types.append(piece[3])
        elif field == 3:
            dummy_prefix = bool(dict(protobuf_fields(value)).get(3, 1))
    return tokens, scores, types, dummy_prefix


def tensors(s, wtype):
    q, kv = s["heads"] * s["head_dim"], s["kv_heads"] * s["head_dim"]
    out = [("token_embd.weight", [s["hidden"], s["vocab"]], wtype)]
    for l in range(s["layers"]):
        p = f"blk.{l}."
        out += [(p + "attn_norm.weight", [s["hidden"]], "f32"), (p + "attn_q.weight", [s["hidden"], q], wtype),
                (p + "attn_k.weight", [s["hidden"], kv], wtype), (p + "attn_v.weight", [s["hidden"], kv], wtype),
                (p + "attn_output.weight", [q, s["hidden"]], wtype), (p + "ffn_norm.weight", [s["hidden"]], "f32"),
                (p + "ffn_gate.weight", [s["hidden"], s["ffn"]], wtype), (p + "ffn_up.weight", [s["hidden"], s["ffn"]], wtype),
                (p + "ffn_down.weight", [s["ffn"], s["hidden"]], wtype)]
    out += [("output_norm.weight", [s["hidden"]], "f32")]
    # tied embeddings (demo-code-draft): no output.weight, and llama.cpp's llama architecture reads token_embd in its place
    return out if s.get("tied") else out + [("output.weight", [s["hidden"], s["vocab"]], wtype)]


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


# Hugging Face Llama tensor names -> GGUF names: within a layer (model.layers.N.<name>.weight -> blk.N.<name>.weight),
# and the model's own
HF_LAYER = {"input_layernorm": "attn_norm", "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k",
            "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output", "post_attention_layernorm": "ffn_norm",
            "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down"}
HF_MODEL = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
            "lm_head.weight": "output.weight"}
SAFETENSORS_DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16}


def checkpoint_shape(folder):
    """The GGUF shape of a Llama checkpoint's config.json; a field this writer does not carry over is an error naming it."""
    path = folder / "config.json"
    c = json.loads(path.read_text())
    rope = c.get("rope_parameters") or c.get("rope_scaling") or {}
    for field, ok in [("model_type", c.get("model_type") == "llama"),
                      ("attention_bias", not c.get("attention_bias")), ("mlp_bias", not c.get("mlp_bias")),
                      ("rope_type", rope.get("rope_type", "default") == "default")]:
        if not ok:
            raise SystemExit(f"{path}: {field} = {c.get(field, rope.get(field))!r} is not carried into the GGUF (a plain Llama only)")
    heads = c["num_attention_heads"]
    return dict(hidden=c["hidden_size"], layers=c["num_hidden_layers"], heads=heads,
                kv_heads=c.get("num_key_value_heads") or heads, head_dim=c.get("head_dim") or c["hidden_size"] // heads,
                ffn=c["intermediate_size"], vocab=c["vocab_size"], context=c["max_position_embeddings"],
                rms_eps=c["rms_norm_eps"], rope_theta=rope.get("rope_theta", c.get("rope_theta", 10000.0)),
                tied=bool(c.get("tie_word_embeddings")))


def checkpoint_tensors(folder):
    """Every tensor of the folder's *.safetensors files as float32, by GGUF name: the format is an 8-byte header length,
    a JSON header (dtype, shape, byte offsets into the data after it), then the data."""
    out = {}
    for path in sorted(folder.glob("*.safetensors")):
        with open(path, "rb") as f:
            length = struct.unpack("<Q", f.read(8))[0]
            header = json.loads(f.read(length))
        data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + length)
        for name, t in header.items():
            if name == "__metadata__":
                continue
            if t["dtype"] not in SAFETENSORS_DTYPES:
                raise SystemExit(f"{path}: tensor {name} has dtype {t['dtype']} (F32, F16 or BF16 only)")
            start, end = t["data_offsets"]
            x = data[start:end].view(SAFETENSORS_DTYPES[t["dtype"]]).reshape(t["shape"])
            x = (x.astype(np.uint32) << 16).view(np.float32) if t["dtype"] == "BF16" else x.astype(np.float32)
            out[gguf_name(name, path)] = x
    if not out:
        raise SystemExit(f"{folder}: no *.safetensors files")
    return out


def gguf_name(hf_name, path):
    if hf_name in HF_MODEL:
        return HF_MODEL[hf_name]
    parts = hf_name.split(".")
    if parts[:2] == ["model", "layers"] and parts[-1] == "weight" and ".".join(parts[3:-1]) in HF_LAYER:
        return f"blk.{parts[2]}.{HF_LAYER['.'.join(parts[3:-1])]}.weight"
    raise SystemExit(f"{path}: tensor {hf_name} has no place in a llama GGUF")


def rotary_rows(w, heads):
    """Query or key rows in llama.cpp's rotary order: Hugging Face rotates dimension i of a head with i + d/2, llama.cpp
    with its neighbour, so each head's rows [first half | second half] become interleaved pairs."""
    out_dim, in_dim = w.shape
    return w.reshape(heads, 2, out_dim // heads // 2, in_dim).swapaxes(1, 2).reshape(out_dim, in_dim)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--type", choices=["f32", "f16", "q4_0"], required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--context", type=int, help="llama.context_length (default: the shape's, 2048 for TinyLlama)")
    ap.add_argument("--checkpoint", type=pathlib.Path, help="a Hugging Face Llama folder (config.json, *.safetensors)")
    ap.add_argument("--tokenizer", type=pathlib.Path, help="a folder with the checkpoint's tokenizer.model (SentencePiece): "
                    "its vocabulary, so llama.cpp tokenizes text as the checkpoint does (default: the placeholder)")
    args = ap.parse_args()
    wtype = args.type
    if args.checkpoint is None and wtype == "f32":
        raise SystemExit("--type f32 takes --checkpoint (make-gguf.mjs writes random F32)")
    s = checkpoint_shape(args.checkpoint) if args.checkpoint else SHAPE
    weights = checkpoint_tensors(args.checkpoint) if args.checkpoint else None
    name = f"{args.checkpoint.name} {wtype}" if args.checkpoint else f"random tinyllama-1.1b {wtype} seed {args.seed}"
    tokens, scores, types = vocabulary(s["vocab"])
    dummy_prefix = None
    if args.tokenizer:
        tokens, scores, types, dummy_prefix = sentencepiece_vocabulary(args.tokenizer / "tokenizer.model")
        if len(tokens) != s["vocab"]:
            raise SystemExit(f"{args.tokenizer / 'tokenizer.model'}: {len(tokens)} pieces, the model's vocab_size is {s['vocab']}")
    kvs = [("general.architecture", STRING, "llama"), ("general.name", STRING, name),
           ("general.file_type", UINT32, FILE_TYPE[wtype]), ("general.quantization_version", UINT32, 2),
           ("general.alignment", UINT32, ALIGNMENT), ("llama.vocab_size", UINT32, s["vocab"]),
           ("llama.context_length", UINT32, args.context or s["context"]), ("llama.embedding_length", UINT32, s["hidden"]),
           ("llama.block_count", UINT32, s["layers"]), ("llama.feed_forward_length", UINT32, s["ffn"]),
           ("llama.rope.dimension_count", UINT32, s["head_dim"]), ("llama.attention.head_count", UINT32, s["heads"]),
           ("llama.attention.head_count_kv", UINT32, s["kv_heads"]),
           ("llama.attention.layer_norm_rms_epsilon", FLOAT32, s["rms_eps"]), ("llama.rope.freq_base", FLOAT32, s["rope_theta"]),
           ("tokenizer.ggml.model", STRING, "llama"), ("tokenizer.ggml.tokens", ARRAY, tokens, STRING),
           ("tokenizer.ggml.scores", ARRAY, scores, FLOAT32), ("tokenizer.ggml.token_type", ARRAY, types, INT32),
           ("tokenizer.ggml.unknown_token_id", UINT32, 0), ("tokenizer.ggml.bos_token_id", UINT32, 1),
           ("tokenizer.ggml.eos_token_id", UINT32, 2), ("tokenizer.ggml.add_bos_token", BOOL, True),
           ("tokenizer.ggml.add_eos_token", BOOL, False)]
    if dummy_prefix is not None:   # demo-code's tokenizer puts no space before the text
        kvs.append(("tokenizer.ggml.add_space_prefix", BOOL, dummy_prefix))
    if weights is not None:   # a head wider or narrower than hidden / heads (demo-code-mha: 16 x 64 over 256)
        kvs += [("llama.attention.key_length", UINT32, s["head_dim"]), ("llama.attention.value_length", UINT32, s["head_dim"])]
    plan = tensors(s, wtype)
    if weights is not None and s["tied"]:
        weights.pop("output.weight", None)   # a checkpoint may store the tied copy too
    if weights is not None and set(weights) != {n for n, _, _ in plan}:
        raise SystemExit(f"{args.checkpoint}: tensors missing {sorted({n for n, _, _ in plan} - set(weights))}, "
                         f"unexpected {sorted(set(weights) - {n for n, _, _ in plan})}")
    header = struct.pack("<IIQQ", 0x46554747, 3, len(plan), len(kvs)) + b"".join(gguf_kv(*kv) for kv in kvs)
    offset = 0
    for tname, ne, ttype in plan:
        header += gguf_string(tname) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", d) for d in ne)
        header += struct.pack("<IQ", GGML[ttype][0], offset)
        offset += -(-nbytes(ne, ttype) // ALIGNMENT) * ALIGNMENT
    header += b"\0" * (-len(header) % ALIGNMENT)
    rng = np.random.default_rng(args.seed)
    with open(args.out, "wb") as f:
        f.write(header)
        for tname, ne, ttype in plan:
            count = int(np.prod(ne))
            if weights is not None:
                x = weights[tname]
                if x.size != count:
                    raise SystemExit(f"{args.checkpoint}: {tname} has {x.shape}, the config's shape wants {ne[::-1]}")
                if tname.endswith(("attn_q.weight", "attn_k.weight")):
                    x = rotary_rows(x, s["heads"] if tname.endswith("attn_q.weight") else s["kv_heads"])
                x = np.ascontiguousarray(x, dtype=np.float32).reshape(-1)
            elif ttype == "f32":
                x = np.ones(count, dtype=np.float32)
            else:
                x = rng.standard_normal(count, dtype=np.float32) * np.float32(0.02)
            data = x.tobytes() if ttype == "f32" else x.astype(np.float16).tobytes() if ttype == "f16" else quantize_q4_0(x)
            f.write(data + b"\0" * (-len(data) % ALIGNMENT))
    print(f"{args.out}: {len(plan)} tensors, {wtype}, {offset + len(header):,} bytes")


if __name__ == "__main__":
    main()
