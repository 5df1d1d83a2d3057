#!/usr/bin/env python3
"""Checks of lckv.py (run before training; float32, CPU or GPU):
1. With layer_types 0_1_2_3 and no force_nodiag the LCKV model equals transformers' LlamaForCausalLM with the
   same weights (names, RoPE, GQA grouping, norms).
2. Iterative forward with R passes equals exact sequential decoding on positions 0..R-1 (w2 sandwich and a
   CLA-style string), and everywhere when R >= sequence length.
3. Prefix causality of the iterative forward: forward(L) equals the first L positions of forward(L + k).
4. Token 0 of an attends-top / no-diagonal layer gets exactly zero attention output (no NaN), and the maskless
   no-diagonal attention (attend_before) equals the masked one, gradients included.
5. Save / load round trip: stored layers keep k_proj/v_proj, the others have none.

Re-run: python3 tools/train/selftest.py
"""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402

import lckv  # noqa: E402

DEV = torch.device("cuda" if torch.cuda.is_available() else "cpu")
SMALL = dict(vocab_size=300, hidden_size=64, intermediate_size=96, num_hidden_layers=4, num_attention_heads=4,
             num_key_value_heads=2, head_dim=16, max_position_embeddings=128, rms_norm_eps=1e-5,
             rope_theta=10000.0, tie_word_embeddings=False, bos_token_id=1, eos_token_id=2,
             initializer_range=0.1, forward_passes=7, backward_passes=2, sliding_window=4096)


def cfg(layer_types, n, force_nodiag=True):
    c = dict(SMALL, num_hidden_layers=n, layer_types=layer_types, force_nodiag=force_nodiag)
    return c


def randomize_norms(m):
    with torch.no_grad():
        for n, p in m.named_parameters():
            if "norm" in n:
                p.copy_(1 + 0.3 * torch.randn_like(p))


def check(name, ok, detail=""):
    print(f"{'ok  ' if ok else 'FAIL'} {name} {detail}", flush=True)
    if not ok:
        check.failed += 1


check.failed = 0


def test_matches_hf():
    from transformers import LlamaConfig, LlamaForCausalLM
    torch.manual_seed(0)
    c = cfg("0_1_2_3", 4, force_nodiag=False)
    hf = LlamaForCausalLM(LlamaConfig(
        vocab_size=c["vocab_size"], hidden_size=c["hidden_size"], intermediate_size=c["intermediate_size"],
        num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
        max_position_embeddings=128, rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False,
        initializer_range=0.1)).float().to(DEV).eval()
    randomize_norms(hf)
    m = lckv.LCKVLlamaForCausalLM(c).to(DEV).eval()
    sd = {k: v for k, v in hf.state_dict().items() if "rotary" not in k}
    missing, unexpected = m.load_state_dict(sd, strict=False)
    check("hf names", not missing and not unexpected, f"missing {missing} unexpected {unexpected}")
    x = torch.randint(3, 300, (2, 20), device=DEV)
    with torch.no_grad():
        a = hf(input_ids=x).logits
        b = m(x)
        s = m.forward_sequential(x)
    check("equals LlamaForCausalLM", torch.allclose(a, b, atol=1e-4), f"max diff {(a - b).abs().max():.2e}")
    check("sequential equals LlamaForCausalLM", torch.allclose(a, s, atol=1e-4), f"max diff {(a - s).abs().max():.2e}")


def test_iterative_vs_sequential(layer_types, n):
    torch.manual_seed(1)
    m = lckv.LCKVLlamaForCausalLM(cfg(layer_types, n)).to(DEV).eval()
    randomize_norms(m)
    x = torch.randint(3, 300, (3, 16), device=DEV)
    with torch.no_grad():
        seq = m.forward_sequential(x)
        it9 = m(x)  # 9 passes
        it16 = m(x, passes=16)
        it20 = m(x[:, :12])
    d9 = (seq - it9).abs().amax(dim=(0, 2))  # per position
    check(f"{layer_types}: 9 passes exact on positions 0..8", bool(d9[:9].max() < 1e-4), f"{d9[:9].max():.2e}")
    check(f"{layer_types}: 9 passes differ later (approximation)", bool(d9[9:].max() > 1e-6), f"{d9[9:].max():.2e}")
    check(f"{layer_types}: 16 passes exact everywhere", bool((seq - it16).abs().max() < 1e-4),
          f"{(seq - it16).abs().max():.2e}")
    check(f"{layer_types}: prefix causality", bool((it9[:, :12] - it20).abs().max() < 1e-4),
          f"{(it9[:, :12] - it20).abs().max():.2e}")
    check(f"{layer_types}: finite", bool(torch.isfinite(seq).all() and torch.isfinite(it9).all()))


def test_token0_zero():
    torch.manual_seed(2)
    m = lckv.LCKVLlamaForCausalLM(cfg("0_2_2", 3)).to(DEV).eval()
    x = torch.randint(3, 300, (1, 5), device=DEV)
    q = torch.randn(1, 4, 5, 16, device=DEV)
    k = torch.randn(1, 2, 5, 16, device=DEV)
    o = lckv.attend(q, k, k, *m.mask(5, 1, DEV))
    check("token 0 output is zero", bool((o[:, :, 0] == 0).all() and torch.isfinite(o).all()))
    # gradients stay finite through the filled-in row
    q.requires_grad_(True)
    lckv.attend(q, k, k, *m.mask(5, 1, DEV)).sum().backward()
    check("gradient finite", bool(torch.isfinite(q.grad).all()))
    g_masked = q.grad.clone()
    q.grad = None
    o2 = lckv.attend_before(q, k, k)
    o2.sum().backward()
    check("attend_before equals the masked attention", bool((o2 - o).abs().max() < 1e-5),
          f"{(o2 - o).abs().max():.2e}")
    check("attend_before gradient equals the masked one", bool((q.grad - g_masked).abs().max() < 1e-5),
          f"{(q.grad - g_masked).abs().max():.2e}")
    m.train()
    loss = m(x).sum()
    loss.backward()
    check("training forward/backward finite", all(torch.isfinite(p.grad).all() for p in m.parameters()
                                                  if p.grad is not None))


def test_save_load():
    torch.manual_seed(3)
    m = lckv.LCKVLlamaForCausalLM(cfg("0_6_6_6_6_6_6_7", 8)).to(DEV).eval()
    with tempfile.TemporaryDirectory() as d:
        lckv.save(m, d, torch.float32)
        from safetensors.torch import load_file
        keys = set(load_file(os.path.join(d, "model.safetensors")))
        kp = sorted(int(k.split(".")[2]) for k in keys if k.endswith("k_proj.weight"))
        check("k_proj only on stored layers", kp == [0, 6, 7], str(kp))
        m2 = lckv.load(d, torch.float32, DEV)
        x = torch.randint(3, 300, (1, 10), device=DEV)
        with torch.no_grad():
            check("save/load round trip", bool(torch.equal(m(x), m2(x))))


if __name__ == "__main__":
    check("blocks w2", lckv.cyclic_blocks([0, 6, 6, 6, 6, 6, 6, 7]) == [(1, 6)])
    check("blocks none", lckv.cyclic_blocks([0, 1, 2]) == [])
    test_matches_hf()
    test_iterative_vs_sequential("0_6_6_6_6_6_6_7", 8)
    test_iterative_vs_sequential("0_3_3_3_4_5", 6)
    test_token0_zero()
    test_save_load()
    print(f"selftest: {check.failed} failures", flush=True)
    sys.exit(1 if check.failed else 0)
    sys.exit(1 if check.failed else 0)
