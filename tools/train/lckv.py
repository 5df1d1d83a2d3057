"""Layer-condensed KV (LCKV, Wu & Tu 2024) Llama in plain PyTorch: training forward, exact sequential decode,
and the Hugging Face style checkpoint (config.json + model.safetensors) the C# exporter reads.

Semantics (DESIGN.md section 4, paper semantics):
- layer_types "t0_t1_..": layer i attends to the KV of layer t_i (suffix "s": sliding window). Stored layers =
  set(t_i); only they have k_proj/v_proj. Weight names are Llama's.
- Layer i "attends top" when t_i > i. Such a layer at position p sees the source's KV of positions < p only.
  force_nodiag (as in the reference code) removes the diagonal in every layer: position p never sees its own
  position's KV. A row with no admissible key (token 0) has attention output exactly 0.
- Exact decoding is sequential: at position p the layers run bottom to top, each stored layer writes its KV for
  p, and a layer reading a higher layer's KV sees entries 0..p-1 (entry p does not exist yet).
- Parallel (training / prefill) forward: the cyclic block (from the first attends-top layer to its target) runs
  forward_passes + backward_passes times from the same input; the target KV of all positions starts as zeros
  and each pass reads the previous pass's. In training only the last backward_passes passes keep gradients;
  the loss uses the last pass. After R passes positions 0..R-1 equal sequential decoding exactly.
"""
import json
import os
from contextlib import nullcontext

import torch
import torch.nn as nn
import torch.nn.functional as F


def parse_layer_types(s, n_layers):
    """'0_6_6s_7' -> (sources [0,6,6,7], sliding [F,F,T,F], stored [0,6,7])."""
    srcs, sliding = [], []
    for tok in s.split("_"):
        sl = tok.endswith("s")
        srcs.append(int(tok[:-1] if sl else tok))
        sliding.append(sl)
    if len(srcs) != n_layers or any(not 0 <= t < n_layers for t in srcs):
        raise ValueError(f"layer_types {s!r} does not fit {n_layers} layers")
    return srcs, sliding, sorted(set(srcs))


def cyclic_blocks(srcs):
    """[(start, end)] inclusive layer ranges that must iterate: from an attends-top layer to its (furthest) target."""
    blocks, i, n = [], 0, len(srcs)
    while i < n:
        if srcs[i] > i:
            start, end, j = i, srcs[i], i
            while j <= end:
                end = max(end, srcs[j])
                j += 1
            blocks.append((start, end))
            i = end + 1
        else:
            i += 1
    return blocks


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        dt = x.dtype
        x = x.float()
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x.to(dt)


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def apply_rope(x, cos, sin):  # x [B, H, S, D]; cos/sin [S, D]
    return x * cos.to(x.dtype) + rotate_half(x) * sin.to(x.dtype)


class Attention(nn.Module):
    def __init__(self, c, stores):
        super().__init__()
        h, H, Hkv, D = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"]
        self.H, self.Hkv, self.D, self.stores = H, Hkv, D, stores
        self.q_proj = nn.Linear(h, H * D, bias=False)
        if stores:
            self.k_proj = nn.Linear(h, Hkv * D, bias=False)
            self.v_proj = nn.Linear(h, Hkv * D, bias=False)
        self.o_proj = nn.Linear(H * D, h, bias=False)

    def qkv(self, x, cos, sin):
        B, S, _ = x.shape
        q = apply_rope(self.q_proj(x).view(B, S, self.H, self.D).transpose(1, 2), cos, sin)  # [B, H, S, D]
        if not self.stores:
            return q, None, None
        k = apply_rope(self.k_proj(x).view(B, S, self.Hkv, self.D).transpose(1, 2), cos, sin)  # [B, Hkv, S, D]
        v = self.v_proj(x).view(B, S, self.Hkv, self.D).transpose(1, 2)                         # [B, Hkv, S, D]
        return q, k, v


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        h, m = c["hidden_size"], c["intermediate_size"]
        self.gate_proj = nn.Linear(h, m, bias=False)
        self.up_proj = nn.Linear(h, m, bias=False)
        self.down_proj = nn.Linear(m, h, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, c, stores):
        super().__init__()
        self.self_attn = Attention(c, stores)
        self.mlp = MLP(c)
        self.input_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.post_attention_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])


class LCKVModel(nn.Module):
    def __init__(self, c, stored):
        super().__init__()
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.layers = nn.ModuleList(DecoderLayer(c, i in stored) for i in range(c["num_hidden_layers"]))
        self.norm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])


def attend(q, k, v, allowed, row_ok=None):
    """q [B, H, S, D]; k/v [B, Hkv, Sk, D]; allowed bool [S, Sk] with every row admitting some key.
    row_ok [S, 1] (or None) zeroes rows that really admit no key (their mask row was filled in to stay finite)."""
    rep = q.shape[1] // k.shape[1]
    k = k.repeat_interleave(rep, dim=1)  # [B, H, Sk, D], same head grouping as HF repeat_kv
    v = v.repeat_interleave(rep, dim=1)
    o = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed)  # [B, H, S, D]
    return o if row_ok is None else o * row_ok.to(o.dtype)


def attend_before(q, k, v):
    """attend() for the mask "key j < query p" (no diagonal, no window) without a mask: query p + 1 over keys
    0..p is plain causal attention, which runs on the flash / memory-efficient kernels that an explicit [S, S]
    mask rules out (at 8192 tokens the masked form is several times slower). Row 0 sees no key: output 0."""
    rep = q.shape[1] // k.shape[1]
    k = k.repeat_interleave(rep, dim=1)  # [B, H, S, D]
    v = v.repeat_interleave(rep, dim=1)
    o = F.scaled_dot_product_attention(q[:, :, 1:], k[:, :, :-1], v[:, :, :-1], is_causal=True)  # [B, H, S-1, D]
    return torch.cat([torch.zeros_like(q[:, :, :1]), o], dim=2)  # [B, H, S, D]


# Escape hatch: LCKV_MASKED_ATTENTION=1 keeps every layer on the explicit-mask path (run_device.sh sets it when
# selftest.py fails, since the check of iterative against sequential decoding covers attend_before).
MASKED_ONLY = os.environ.get("LCKV_MASKED_ATTENTION") == "1"


class LCKVLlamaForCausalLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.config = dict(c)
        n = c["num_hidden_layers"]
        self.srcs, self.sliding, self.stored = parse_layer_types(c["layer_types"], n)
        self.blocks = cyclic_blocks(self.srcs)
        self.model = LCKVModel(c, set(self.stored))
        self.lm_head = nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)
        if c.get("tie_word_embeddings"):
            self.lm_head.weight = self.model.embed_tokens.weight
        D = c["head_dim"]
        inv = 1.0 / (c["rope_theta"] ** (torch.arange(0, D, 2, dtype=torch.float32) / D))
        self.register_buffer("inv_freq", inv, persistent=False)
        self._masks = {}
        self.reset_parameters()

    def reset_parameters(self):
        std = self.config.get("initializer_range", 0.02)
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, mean=0.0, std=std)
            elif isinstance(m, RMSNorm):
                nn.init.ones_(m.weight)

    # --- helpers -------------------------------------------------------------------------------------------
    def rope(self, pos):  # pos [S] -> cos, sin [S, D] float32
        f = pos.float()[:, None] * self.inv_freq[None, :]
        emb = torch.cat((f, f), dim=-1)
        return emb.cos(), emb.sin()

    def nodiag(self, i):
        return bool(self.config.get("force_nodiag")) or self.srcs[i] > i

    def window(self, i):
        return self.config.get("sliding_window") if self.sliding[i] else None

    def mask(self, S, i, device):
        """(allowed [S, S], row_ok [S, 1] or None) for the parallel forward of layer i: key j < p (no diagonal)
        or j <= p, within the window. A row without keys (p = 0 without diagonal) admits key 0 and is zeroed."""
        key = (S, self.nodiag(i), self.window(i), str(device))
        if key not in self._masks:
            p = torch.arange(S, device=device)[:, None]
            j = torch.arange(S, device=device)[None, :]
            allowed = (j < p) if self.nodiag(i) else (j <= p)
            w = self.window(i)
            if w:
                allowed = allowed & (p - j < w)
            row_ok = None
            if self.nodiag(i):  # only row 0 can be empty (any window >= 1 admits p - 1)
                allowed[0, 0] = True
                row_ok = torch.ones(S, 1, device=device)
                row_ok[0] = 0.0
            self._masks[key] = (allowed, row_ok)
        return self._masks[key]

    def _layer(self, i, h, cos, sin, kv, pending):
        """One decoder layer over all S positions. kv: stored KVs of this forward; pending: target KV estimates."""
        layer = self.model.layers[i]
        x = layer.input_layernorm(h)
        q, k, v = layer.self_attn.qkv(x, cos, sin)
        if k is not None:
            kv[i] = (k, v)
        src = self.srcs[i]
        K, V = pending[src] if src > i else kv[src]
        S = h.shape[1]
        if self.nodiag(i) and not self.window(i) and S > 1 and not MASKED_ONLY:
            o = attend_before(q, K, V)  # [B, H, S, D]
        else:
            o = attend(q, K, V, *self.mask(S, i, h.device))  # [B, H, S, D]
        B, H, S, D = o.shape
        h = h + layer.self_attn.o_proj(o.transpose(1, 2).reshape(B, S, H * D))
        return h + layer.mlp(layer.post_attention_layernorm(h))

    # --- parallel forward (training, perplexity, prefill) -----------------------------------------------------
    def forward(self, ids, passes=None, grad_passes=None):
        """ids [B, S] -> logits [B, S, V]. passes = total iterations of each cyclic block (default m + b);
        when gradients are enabled only the last grad_passes (default b) keep them."""
        c = self.config
        R = passes if passes is not None else c["forward_passes"] + c["backward_passes"]
        G = grad_passes if grad_passes is not None else c["backward_passes"]
        B, S = ids.shape
        cos, sin = self.rope(torch.arange(S, device=ids.device))
        h = self.model.embed_tokens(ids)  # [B, S, hidden]
        kv, i = {}, 0
        starts = {s: e for s, e in self.blocks}
        while i < len(self.srcs):
            if i not in starts:
                h = self._layer(i, h, cos, sin, kv, None)
                i += 1
                continue
            s, e = i, starts[i]
            targets = sorted({self.srcs[j] for j in range(s, e + 1) if self.srcs[j] > j})
            Hkv, D = c["num_key_value_heads"], c["head_dim"]
            dt = torch.get_autocast_dtype("cuda") if torch.is_autocast_enabled() else h.dtype
            zero = h.new_zeros(B, Hkv, S, D, dtype=dt)
            pending = {t: (zero, zero) for t in targets}  # [B, Hkv, S, D] each
            h_in = h
            for r in range(R):
                ctx = torch.no_grad() if r < R - G else nullcontext()
                with ctx:
                    hh, kv_r = h_in, dict(kv)
                    for j in range(s, e + 1):
                        hh = self._layer(j, hh, cos, sin, kv_r, pending)
                pending = {t: kv_r[t] for t in targets}
            h, kv, i = hh, kv_r, e + 1
        return self.lm_head(self.model.norm(h))

    # --- exact sequential decoding ---------------------------------------------------------------------------
    @torch.no_grad()
    def forward_sequential(self, ids):
        """ids [B, T] -> logits [B, T, V], one position at a time with a KV cache per stored layer (exact)."""
        c = self.config
        B, T = ids.shape
        Hkv, D = c["num_key_value_heads"], c["head_dim"]
        cache = {l: (ids.new_zeros(B, Hkv, T, D, dtype=self.lm_head.weight.dtype),
                     ids.new_zeros(B, Hkv, T, D, dtype=self.lm_head.weight.dtype)) for l in self.stored}
        cos_all, sin_all = self.rope(torch.arange(T, device=ids.device))
        out = []
        for p in range(T):
            cos, sin = cos_all[p:p + 1], sin_all[p:p + 1]
            h = self.model.embed_tokens(ids[:, p:p + 1])  # [B, 1, hidden]
            for i, layer in enumerate(self.model.layers):
                x = layer.input_layernorm(h)
                q, k, v = layer.self_attn.qkv(x, cos, sin)  # q [B, H, 1, D]
                if k is not None:
                    cache[i][0][:, :, p] = k[:, :, 0]
                    cache[i][1][:, :, p] = v[:, :, 0]
                src = self.srcs[i]
                hi = p if self.nodiag(i) else p + 1  # keys [lo, hi)
                w = self.window(i)
                lo = max(0, p - w + 1) if w else 0
                if hi <= lo:
                    o = torch.zeros_like(q)
                else:
                    K, V = cache[src][0][:, :, lo:hi], cache[src][1][:, :, lo:hi]
                    rep = q.shape[1] // K.shape[1]
                    o = F.scaled_dot_product_attention(q, K.repeat_interleave(rep, 1), V.repeat_interleave(rep, 1))
                h = h + layer.self_attn.o_proj(o.transpose(1, 2).reshape(B, 1, -1))
                h = h + layer.mlp(layer.post_attention_layernorm(h))
            out.append(self.lm_head(self.model.norm(h)))
        return torch.cat(out, dim=1)


def make_config(preset, common):
    c = dict(common)
    c.update({k: v for k, v in preset.items() if k not in ("kind", "lr", "batch")})
    return c


def hf_config(c, dtype="float16"):
    """config.json contents: Llama fields (both rope spellings) + the LCKV fields."""
    return {
        "architectures": ["LCKVLlamaForCausalLM"],
        "model_type": "lckv_llama",
        "vocab_size": c["vocab_size"], "hidden_size": c["hidden_size"],
        "intermediate_size": c["intermediate_size"], "num_hidden_layers": c["num_hidden_layers"],
        "num_attention_heads": c["num_attention_heads"], "num_key_value_heads": c["num_key_value_heads"],
        "head_dim": c["head_dim"], "hidden_act": "silu", "max_position_embeddings": c["max_position_embeddings"],
        "rms_norm_eps": c["rms_norm_eps"], "rope_theta": c["rope_theta"], "rope_scaling": None,
        "rope_parameters": {"rope_type": "default", "rope_theta": c["rope_theta"]},
        "attention_bias": False, "attention_dropout": 0.0, "mlp_bias": False,
        "tie_word_embeddings": bool(c["tie_word_embeddings"]), "initializer_range": c["initializer_range"],
        "bos_token_id": c["bos_token_id"], "eos_token_id": c["eos_token_id"], "pad_token_id": None,
        "use_cache": True, "torch_dtype": dtype, "dtype": dtype,
        "layer_types": c["layer_types"], "forward_passes": c["forward_passes"],
        "backward_passes": c["backward_passes"], "sliding_window": c["sliding_window"],
        "use_sequential": False, "force_nodiag": bool(c["force_nodiag"]),
    }


def save(model, out_dir, dtype=torch.float16):
    from safetensors.torch import save_file
    os.makedirs(out_dir, exist_ok=True)
    sd = {k: v.detach().to(dtype).contiguous().cpu() for k, v in model.state_dict().items()}
    if model.config.get("tie_word_embeddings"):
        sd.pop("lm_head.weight", None)
    save_file(sd, os.path.join(out_dir, "model.safetensors"), metadata={"format": "pt"})
    name = {torch.float16: "float16", torch.bfloat16: "bfloat16", torch.float32: "float32"}[dtype]
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(hf_config(model.config, name), f, indent=2)
    with open(os.path.join(out_dir, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": model.config["bos_token_id"], "eos_token_id": model.config["eos_token_id"],
                   "max_length": model.config["max_position_embeddings"]}, f, indent=2)


def load(path, dtype=torch.float32, device="cpu"):
    """Loads a saved checkpoint, upcasting the stored weights to `dtype`."""
    from safetensors.torch import load_file
    with open(os.path.join(path, "config.json")) as f:
        c = json.load(f)
    model = LCKVLlamaForCausalLM(c)
    sd = load_file(os.path.join(path, "model.safetensors"))
    missing, unexpected = model.load_state_dict(sd, strict=False)
    allowed_missing = {"lm_head.weight"} if c.get("tie_word_embeddings") else set()
    if set(missing) - allowed_missing or unexpected:
        raise ValueError(f"{path}: missing {missing}, unexpected {unexpected}")
    return model.to(device=device, dtype=dtype).eval()
