#!/usr/bin/env python3
"""Golden fixtures from transformers itself: tiny random LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM,
Qwen3ForCausalLM, Phi3ForCausalLM, Gemma2ForCausalLM and Gemma3ForCausalLM checkpoints (float32 safetensors, saved by save_pretrained) with transformers' logits for fixed
input ids and its greedy 20-token continuation.

Every model: vocab 256, hidden 64, 2 layers, 4 heads, 2 KV heads (head_dim 16), intermediate 128,
max_position_embeddings 256, bos 1, eos 2. llama: llama3 rope scaling (theta 500000, factor 8, low 1, high 4,
original_max_position_embeddings 64, so the short, middle and long wavelength branches all occur) and tied
embeddings. mistral: default sliding_window (longer than any fixture sequence). qwen2: q/k/v biases. qwen3: q_norm and
k_norm (per-head RMSNorm before RoPE), head_dim 32 (not hidden / heads), tied embeddings. phi3: fused qkv_proj and
gate_up_proj, 2 heads and 1 KV head of 32, partial_rotary_factor 0.5, longrope (short and long factors, original context 64
of 256, so its attention factor scales cos and sin; the fixtures stay within 64 tokens, where the short factors apply;
golden_longrope.py checks the same checkpoint past them).
gemma2: (1 + weight) RMSNorms before and after attention and MLP, embeddings scaled by sqrt(hidden), GeLU-tanh,
query_pre_attn_scalar 24 (not head_dim), attention and final logit soft-capping at 2 and 3 (small enough to bite on a
random model), tied embeddings, alternating sliding layers with a window (256) no shorter than the context.
gemma3: Gemma 2's layer with q_norm and k_norm, no soft-capping, a sliding layer (window 4, shorter than the fixtures)
then a full one, each with its own RoPE base (local 10000, global 1e6 with linear scaling 8).
Weights: transformers' init (std 0.05), then RMSNorm weights 1 + 0.2 N(0,1) and biases 0.1 N(0,1) so that
norm scales and biases are exercised; with tied embeddings (llama) o_proj and down_proj are scaled by 4. A seed qualifies when its greedy continuation has no EOS, equals a full-recompute argmax
loop, and its smallest top-1/top-2 logit gap over the 20 steps is at least 3e-3 (robust to float32 summation
order); the first qualifying seed from 0 with at least 6 distinct greedy tokens is used, else the qualifying
seed with the most distinct tokens (tied embeddings make random models repeat their input token).

golden.json: {"input_ids": [12], "logits": [12][256] (model(input_ids), float32, eval mode),
"greedy_prompt": [5], "greedy_tokens": [20] (generate(do_sample=False, max_new_tokens=20), prompt excluded),
"transformers_version"}.

Re-run (any machine with torch + transformers; CPU is fine):
    python3 tools/train/golden_tiny.py --out tests/TestData/golden
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import save_hf  # noqa: E402

INPUT_IDS = [1, 45, 199, 12, 87, 250, 3, 77, 140, 9, 201, 66]
GREEDY_PROMPT = [1, 23, 98, 150, 7]
DIMS = dict(vocab_size=256, hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
            head_dim=16, intermediate_size=128, max_position_embeddings=256, bos_token_id=1, eos_token_id=2,
            initializer_range=0.05, rms_norm_eps=1e-6)


def make_config(name):
    import transformers
    v5 = int(transformers.__version__.split(".")[0]) >= 5
    if name == "llama":
        rope = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                "original_max_position_embeddings": 64}
        extra = ({"rope_parameters": dict(rope, rope_theta=500000.0)} if v5
                 else {"rope_scaling": rope, "rope_theta": 500000.0})
        return transformers.LlamaConfig(**DIMS, tie_word_embeddings=True, **extra)
    if name == "mistral":
        return transformers.MistralConfig(**DIMS, tie_word_embeddings=False)
    if name == "qwen2":
        return transformers.Qwen2Config(**DIMS, tie_word_embeddings=False)
    if name == "phi3":
        dims = dict(DIMS, num_attention_heads=2, num_key_value_heads=1, head_dim=32)
        rope = {"rope_type": "longrope", "rope_theta": 10000.0, "short_factor": [1.0, 1.1, 1.3, 1.6, 2.0, 2.6, 3.3, 4.1],
                "long_factor": [1.0, 1.5, 2.5, 4.0, 6.0, 9.0, 13.0, 18.0]}
        if not v5:
            rope["type"] = rope.pop("rope_type")
        extra = {"rope_parameters": rope} if v5 else {"rope_scaling": rope, "rope_theta": 10000.0}
        return transformers.Phi3Config(**dims, tie_word_embeddings=False, partial_rotary_factor=0.5,
                                       original_max_position_embeddings=64, sliding_window=None, pad_token_id=0, **extra)
    if name == "gemma2":
        return transformers.Gemma2Config(**DIMS, query_pre_attn_scalar=24, attn_logit_softcapping=2.0,
                                         final_logit_softcapping=3.0, sliding_window=256, tie_word_embeddings=True,
                                         hidden_activation="gelu_pytorch_tanh", pad_token_id=0)
    if name == "gemma3":
        rope = {"sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
                "full_attention": {"rope_type": "linear", "rope_theta": 1000000.0, "factor": 8.0}}
        return transformers.Gemma3TextConfig(**DIMS, query_pre_attn_scalar=24, sliding_window=4,
                                             layer_types=["sliding_attention", "full_attention"], rope_parameters=rope,
                                             tie_word_embeddings=True, hidden_activation="gelu_pytorch_tanh", pad_token_id=0)
    if name == "qwen3":
        return transformers.Qwen3Config(**dict(DIMS, head_dim=32), tie_word_embeddings=True)
    raise ValueError(name)


def make_model(name, seed):
    import transformers
    cls = {"llama": transformers.LlamaForCausalLM, "mistral": transformers.MistralForCausalLM,
           "qwen2": transformers.Qwen2ForCausalLM, "qwen3": transformers.Qwen3ForCausalLM,
           "phi3": transformers.Phi3ForCausalLM, "gemma2": transformers.Gemma2ForCausalLM,
           "gemma3": transformers.Gemma3ForCausalLM}[name]
    torch.manual_seed(seed)
    config = make_config(name)
    if name in ("gemma2", "gemma3"):
        config._attn_implementation = "eager"   # sdpa leaves out Gemma 2's attention soft-capping
    m = cls(config).float().eval()
    with torch.no_grad():
        for n, p in m.named_parameters():
            if "norm" in n and n.endswith("weight"):
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
            elif n.endswith("bias"):
                p.copy_(0.1 * torch.randn_like(p))
            elif m.config.tie_word_embeddings and n.endswith(("o_proj.weight", "down_proj.weight")):
                p.mul_(4.0)  # let the layers outweigh the tied input embedding, which makes greedy repeat
    return m


@torch.no_grad()
def evaluate(m):
    logits = m(input_ids=torch.tensor([INPUT_IDS])).logits[0].float()  # [12, 256]
    prompt = torch.tensor([GREEDY_PROMPT])
    gen = m.generate(input_ids=prompt, attention_mask=torch.ones_like(prompt), do_sample=False,
                     max_new_tokens=20, min_new_tokens=0, pad_token_id=0)
    tokens = gen[0, len(GREEDY_PROMPT):].tolist()
    seq, gaps = prompt, []  # full-recompute greedy, to check generate() and measure top-1/top-2 gaps
    for _ in range(20):
        last = m(input_ids=seq).logits[0, -1].float()
        top = torch.topk(last, 2).values
        gaps.append(float(top[0] - top[1]))
        seq = torch.cat([seq, last.argmax().view(1, 1)], dim=1)
    return logits, tokens, seq[0, len(GREEDY_PROMPT):].tolist(), min(gaps)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--only", nargs="*", help="architectures to write (default: all)")
    a = ap.parse_args()
    import transformers
    for name in a.only or ("llama", "mistral", "qwen2", "qwen3", "phi3", "gemma2", "gemma3"):
        best = None  # first seed with >= 6 distinct greedy tokens, else the one with the most
        for seed in range(60):
            m = make_model(name, seed)
            logits, tokens, manual, gap = evaluate(m)
            if len(tokens) == 20 and 2 not in tokens and tokens == manual and gap >= 3e-3:
                if best is None or len(set(tokens)) > len(set(best[3])):
                    best = (seed, m, logits, tokens, gap)
                if len(set(tokens)) >= 6:
                    break
        if best is None:
            raise SystemExit(f"{name}: no seed passed the checks")
        seed, m, logits, tokens, gap = best
        d = os.path.join(a.out, name)
        save_hf(m, d)
        if name == "llama":
            assert getattr(m.model.rotary_emb, "rope_type", "llama3") == "llama3", m.model.rotary_emb.rope_type
        with open(os.path.join(d, "golden.json"), "w") as f:
            json.dump({"input_ids": INPUT_IDS,
                       "logits": [[float(f"{v:.9g}") for v in row] for row in logits.tolist()],
                       "greedy_prompt": GREEDY_PROMPT, "greedy_tokens": tokens,
                       "transformers_version": transformers.__version__}, f, separators=(",", ":"))
            f.write("\n")
        print(f"{name}: seed {seed}, min greedy gap {gap:.4f}, greedy {tokens}, files {sorted(os.listdir(d))}")
        print(f"{name} config.json: {open(os.path.join(d, 'config.json')).read()}")


if __name__ == "__main__":
    sys.exit(main())
