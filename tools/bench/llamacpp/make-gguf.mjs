#!/usr/bin/env node
// Writes a random-weight llama GGUF (v3) for llama.cpp speed runs: the peer of
// `condensa export --random --shape tinyllama-1.1b`. Written from the GGUF spec
// (ggml/docs/gguf.md): header, metadata key/values, tensor infos, padding to the
// alignment, tensor data. Weights are normal(0, 0.02) from a seeded PRNG, quantized
// the way ggml's reference quantizers do it (quantize_row_q4_0_ref / q8_0_ref);
// norm weights are 1. Decode speed does not depend on the values.
//
//   node make-gguf.mjs --type q4_0|q8_0|f32 --out FILE.gguf [--seed 1] [--layers 22]
//
// Matrices (token_embd, output and the seven per-layer ones) all get --type
// (llama-quantize's "--pure" layout); norms stay F32.
import fs from "node:fs";

const SHAPES = {
    // TinyLlama-1.1B, as condensa's --shape tinyllama-1.1b
    "tinyllama-1.1b": {hidden: 2048, layers: 22, heads: 32, kvHeads: 4, headDim: 64, ffn: 5632, vocab: 32000,
        context: 2048, rmsEps: 1e-5, ropeTheta: 10000},
};

function parseArgs(argv) {
    const args = {type: "q4_0", out: null, seed: 1, shape: "tinyllama-1.1b", layers: null};
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i], v = argv[i + 1];
        if (a === "--type") { args.type = v.toLowerCase(); i++; }
        else if (a === "--out") { args.out = v; i++; }
        else if (a === "--seed") { args.seed = Number(v); i++; }
        else if (a === "--shape") { args.shape = v; i++; }
        else if (a === "--layers") { args.layers = Number(v); i++; }
        else throw new Error(`unknown argument ${a}`);
    }
    if (!args.out) throw new Error("--out FILE.gguf is required");
    if (!(args.shape in SHAPES)) throw new Error(`unknown --shape ${args.shape}`);
    return args;
}

// ---- GGUF constants (ggml.h / gguf.h) ----
const GGUF_MAGIC = 0x46554747; // "GGUF" little-endian
const GGUF_VERSION = 3;
const ALIGNMENT = 32;
const VT = {UINT8: 0, INT8: 1, UINT16: 2, INT16: 3, UINT32: 4, INT32: 5, FLOAT32: 6, BOOL: 7, STRING: 8, ARRAY: 9,
    UINT64: 10, INT64: 11, FLOAT64: 12};
// ggml_type ids, bytes per block, elements per block
const GGML = {
    f32: {id: 0, blockBytes: 4, blockSize: 1},
    q4_0: {id: 2, blockBytes: 18, blockSize: 32},
    q8_0: {id: 8, blockBytes: 34, blockSize: 32},
};
// llama_ftype (general.file_type)
const FILE_TYPE = {f32: 0, q4_0: 2, q8_0: 7};
const TOKEN_TYPE = {NORMAL: 1, UNKNOWN: 2, CONTROL: 3, BYTE: 6};

// ---- little-endian byte builder for the header ----
class Bytes {
    constructor() { this.parts = []; this.length = 0; }
    push(buf) { this.parts.push(buf); this.length += buf.length; }
    u32(v) { const b = Buffer.alloc(4); b.writeUInt32LE(v); this.push(b); }
    i32(v) { const b = Buffer.alloc(4); b.writeInt32LE(v); this.push(b); }
    u64(v) { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); this.push(b); }
    f32(v) { const b = Buffer.alloc(4); b.writeFloatLE(v); this.push(b); }
    bool(v) { this.push(Buffer.from([v ? 1 : 0])); }
    str(s) { const b = Buffer.from(s, "utf8"); this.u64(b.length); this.push(b); }
    concat() { return Buffer.concat(this.parts, this.length); }
}

function writeValue(out, type, value) {
    switch (type) {
        case VT.UINT32: out.u32(value); break;
        case VT.INT32: out.i32(value); break;
        case VT.FLOAT32: out.f32(value); break;
        case VT.BOOL: out.bool(value); break;
        case VT.STRING: out.str(value); break;
        default: throw new Error(`value type ${type} not needed here`);
    }
}

function writeKv(out, key, type, value, itemType) {
    out.str(key);
    out.u32(type);
    if (type === VT.ARRAY) {
        out.u32(itemType);
        out.u64(value.length);
        for (const item of value) writeValue(out, itemType, item);
    } else writeValue(out, type, value);
}

// ---- PRNG: xoshiro128** seeded by splitmix32; normals by Box-Muller ----
function makeRng(seed) {
    let z = seed >>> 0;
    const split = () => {
        z = (z + 0x9e3779b9) >>> 0;
        let t = z;
        t = Math.imul(t ^ (t >>> 16), 0x85ebca6b) >>> 0;
        t = Math.imul(t ^ (t >>> 13), 0xc2b2ae35) >>> 0;
        return (t ^ (t >>> 16)) >>> 0;
    };
    let a = split(), b = split(), c = split(), d = split();
    const next = () => {
        const r = Math.imul(((Math.imul(b, 5) << 7) | (Math.imul(b, 5) >>> 25)), 9) >>> 0;
        const t = b << 9;
        c ^= a; d ^= b; b ^= c; a ^= d; c ^= t;
        d = (d << 11) | (d >>> 21);
        return r;
    };
    return {
        // fills dst with normal(0, std)
        normals(dst, std) {
            for (let i = 0; i < dst.length; i += 2) {
                const u1 = (next() + 1) / 4294967297; // (0, 1)
                const u2 = next() / 4294967296;
                const r = Math.sqrt(-2 * Math.log(u1)) * std, th = 2 * Math.PI * u2;
                dst[i] = r * Math.cos(th);
                if (i + 1 < dst.length) dst[i + 1] = r * Math.sin(th);
            }
        },
    };
}

// ---- fp32 -> fp16 bits (round to nearest) ----
const f32buf = new Float32Array(1), u32buf = new Uint32Array(f32buf.buffer);
function toHalf(v) {
    f32buf[0] = v;
    const x = u32buf[0];
    const sign = (x >>> 16) & 0x8000;
    let e = ((x >>> 23) & 0xff) - 127 + 15;
    let m = x & 0x7fffff;
    if (e <= 0) {
        if (e < -10) return sign;
        m = (m | 0x800000) >>> (1 - e);
        if (m & 0x1000) m += 0x2000;
        return sign | (m >>> 13);
    }
    if (e >= 31) return sign | 0x7c00;
    if (m & 0x1000) {
        m += 0x2000;
        if (m & 0x800000) { m = 0; e++; if (e >= 31) return sign | 0x7c00; }
    }
    return sign | (e << 10) | (m >>> 13);
}

// ---- ggml reference quantizers ----
// block_q4_0 {ggml_half d; uint8_t qs[16];}: x = (q - 8) * d, low nibbles = elements 0..15, high = 16..31
function quantizeQ4_0(src, dst) {
    const nb = src.length / 32;
    for (let b = 0; b < nb; b++) {
        const o = b * 32, p = b * 18;
        let amax = 0, max = 0;
        for (let j = 0; j < 32; j++) { const v = src[o + j]; if (Math.abs(v) > amax) { amax = Math.abs(v); max = v; } }
        const d = max / -8, id = d ? 1 / d : 0;
        dst.writeUInt16LE(toHalf(d), p);
        for (let j = 0; j < 16; j++) {
            const x0 = Math.min(15, Math.trunc(src[o + j] * id + 8.5));
            const x1 = Math.min(15, Math.trunc(src[o + 16 + j] * id + 8.5));
            dst[p + 2 + j] = x0 | (x1 << 4);
        }
    }
}

// block_q8_0 {ggml_half d; int8_t qs[32];}: x = q * d, symmetric
function quantizeQ8_0(src, dst) {
    const nb = src.length / 32;
    for (let b = 0; b < nb; b++) {
        const o = b * 32, p = b * 34;
        let amax = 0;
        for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(src[o + j]));
        const d = amax / 127, id = d ? 1 / d : 0;
        dst.writeUInt16LE(toHalf(d), p);
        for (let j = 0; j < 32; j++) dst.writeInt8(Math.round(src[o + j] * id), p + 2 + j);
    }
}

// ---- model layout ----
function tensors(s, layers, type) {
    // GGUF dims: ne[0] is the innermost (contiguous) one, i.e. a linear layer's input width.
    const kv = s.kvHeads * s.headDim, q = s.heads * s.headDim;
    const list = [
        {name: "token_embd.weight", ne: [s.hidden, s.vocab], type},
    ];
    for (let l = 0; l < layers; l++) {
        const p = `blk.${l}.`;
        list.push(
            {name: p + "attn_norm.weight", ne: [s.hidden], type: "f32", ones: true},
            {name: p + "attn_q.weight", ne: [s.hidden, q], type},
            {name: p + "attn_k.weight", ne: [s.hidden, kv], type},
            {name: p + "attn_v.weight", ne: [s.hidden, kv], type},
            {name: p + "attn_output.weight", ne: [q, s.hidden], type},
            {name: p + "ffn_norm.weight", ne: [s.hidden], type: "f32", ones: true},
            {name: p + "ffn_gate.weight", ne: [s.hidden, s.ffn], type},
            {name: p + "ffn_up.weight", ne: [s.hidden, s.ffn], type},
            {name: p + "ffn_down.weight", ne: [s.ffn, s.hidden], type},
        );
    }
    list.push(
        {name: "output_norm.weight", ne: [s.hidden], type: "f32", ones: true},
        {name: "output.weight", ne: [s.hidden, s.vocab], type},
    );
    for (const t of list) {
        const n = t.ne.reduce((a, b) => a * b, 1);
        const g = GGML[t.type];
        if (t.ne[0] % g.blockSize) throw new Error(`${t.name}: row ${t.ne[0]} not a multiple of ${g.blockSize}`);
        t.elements = n;
        t.bytes = (n / g.blockSize) * g.blockBytes;
    }
    return list;
}

// A synthetic SentencePiece-style vocabulary laid out like TinyLlama's: <unk>, <s>, </s>, 256 byte tokens, the rest
// unique pieces. llama.cpp's SPM vocab needs the byte tokens (it looks up <0x0A> for the newline).
function vocabulary(n) {
    const tokens = ["<unk>", "<s>", "</s>"], types = [TOKEN_TYPE.UNKNOWN, TOKEN_TYPE.CONTROL, TOKEN_TYPE.CONTROL];
    for (let b = 0; b < 256; b++) {
        tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
        types.push(TOKEN_TYPE.BYTE);
    }
    for (let i = tokens.length; i < n; i++) { tokens.push(`\u2581t${i}`); types.push(TOKEN_TYPE.NORMAL); }
    const scores = tokens.map((_, i) => (types[i] === TOKEN_TYPE.NORMAL ? -i : 0));
    return {tokens, scores, types};
}

function main() {
    const args = parseArgs(process.argv.slice(2));
    if (!(args.type in GGML)) throw new Error(`--type must be one of ${Object.keys(GGML).join(", ")}`);
    const s = SHAPES[args.shape];
    const layers = args.layers ?? s.layers;
    const list = tensors(s, layers, args.type);

    const h = new Bytes();
    const vocab = vocabulary(s.vocab);
    const kvs = [
        ["general.architecture", VT.STRING, "llama"],
        ["general.name", VT.STRING, `random ${args.shape} ${args.type} seed ${args.seed}`],
        ["general.file_type", VT.UINT32, FILE_TYPE[args.type]],
        ["general.quantization_version", VT.UINT32, 2],
        ["general.alignment", VT.UINT32, ALIGNMENT],
        ["llama.vocab_size", VT.UINT32, s.vocab],
        ["llama.context_length", VT.UINT32, s.context],
        ["llama.embedding_length", VT.UINT32, s.hidden],
        ["llama.block_count", VT.UINT32, layers],
        ["llama.feed_forward_length", VT.UINT32, s.ffn],
        ["llama.rope.dimension_count", VT.UINT32, s.headDim],
        ["llama.attention.head_count", VT.UINT32, s.heads],
        ["llama.attention.head_count_kv", VT.UINT32, s.kvHeads],
        ["llama.attention.layer_norm_rms_epsilon", VT.FLOAT32, s.rmsEps],
        ["llama.rope.freq_base", VT.FLOAT32, s.ropeTheta],
        ["tokenizer.ggml.model", VT.STRING, "llama"],
        ["tokenizer.ggml.tokens", VT.ARRAY, vocab.tokens, VT.STRING],
        ["tokenizer.ggml.scores", VT.ARRAY, vocab.scores, VT.FLOAT32],
        ["tokenizer.ggml.token_type", VT.ARRAY, vocab.types, VT.INT32],
        ["tokenizer.ggml.unknown_token_id", VT.UINT32, 0],
        ["tokenizer.ggml.bos_token_id", VT.UINT32, 1],
        ["tokenizer.ggml.eos_token_id", VT.UINT32, 2],
        ["tokenizer.ggml.add_bos_token", VT.BOOL, true],
        ["tokenizer.ggml.add_eos_token", VT.BOOL, false],
    ];
    h.u32(GGUF_MAGIC);
    h.u32(GGUF_VERSION);
    h.u64(list.length);
    h.u64(kvs.length);
    for (const [k, t, v, it] of kvs) writeKv(h, k, t, v, it);
    let offset = 0;
    for (const t of list) {
        t.offset = offset;
        h.str(t.name);
        h.u32(t.ne.length);
        for (const d of t.ne) h.u64(d);
        h.u32(GGML[t.type].id);
        h.u64(offset);
        offset += Math.ceil(t.bytes / ALIGNMENT) * ALIGNMENT;
    }
    const pad = (ALIGNMENT - (h.length % ALIGNMENT)) % ALIGNMENT;
    h.push(Buffer.alloc(pad));
    const header = h.concat();

    const fd = fs.openSync(args.out, "w");
    let written = 0;
    const write = (buf) => { let o = 0; while (o < buf.length) o += fs.writeSync(fd, buf, o, buf.length - o); written += buf.length; };
    write(header);
    const dataStart = written;

    const rng = makeRng(args.seed);
    const CHUNK = 1 << 20; // elements per chunk (a multiple of 32)
    const values = new Float32Array(CHUNK);
    const started = Date.now();
    let total = 0;
    for (const t of list) {
        if (written - dataStart !== t.offset) throw new Error(`internal: ${t.name} at ${written - dataStart}, expected ${t.offset}`);
        for (let done = 0; done < t.elements; done += CHUNK) {
            const n = Math.min(CHUNK, t.elements - done);
            const src = values.subarray(0, n);
            if (t.ones) src.fill(1); else rng.normals(src, 0.02);
            if (t.type === "f32") write(Buffer.from(src.buffer, src.byteOffset, n * 4));
            else {
                const g = GGML[t.type];
                const dst = Buffer.allocUnsafe((n / g.blockSize) * g.blockBytes);
                (t.type === "q4_0" ? quantizeQ4_0 : quantizeQ8_0)(src, dst);
                write(dst);
            }
        }
        const padTo = Math.ceil(t.bytes / ALIGNMENT) * ALIGNMENT - t.bytes;
        if (padTo) write(Buffer.alloc(padTo));
        total += t.elements;
    }
    fs.closeSync(fd);
    const params = list.reduce((a, t) => a + t.elements, 0);
    console.log(`${args.out}: ${list.length} tensors, ${params.toLocaleString("en-US")} parameters, ${args.type}, ` +
        `${written.toLocaleString("en-US")} bytes (header ${header.length}), ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

main();
