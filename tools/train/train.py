#!/usr/bin/env python3
"""Trains one demo model for a fixed wall-clock budget and saves it in Hugging Face form (fp16 safetensors).

  demo-code        transformers' LlamaForCausalLM (GQA)
  demo-code-draft  a much smaller LlamaForCausalLM (tied embeddings)
  demo-code-lckv   lckv.LCKVLlamaForCausalLM, same dims as demo-code, iterative training (m=7 no-grad passes,
                   then b=2 with gradient, loss from the last pass)

Batches are random (--seq-len + 1)-token windows of the train stream (files joined as <s> ids </s>, so a long
window spans several files), 32 x 1024 tokens per step whatever the window (4 x 8192 for the long phase).
AdamW (0.9, 0.95), weight decay 0.1 on matrices, bf16 autocast, grad-norm clip 1.0, 100 warmup steps, then a
cosine to 10% of the peak over the time budget (the schedule follows elapsed time, so every model uses its
whole budget).

Two phases make the shipped models: from scratch on 1024-token windows (the first recipe), then a long-context
phase (--init <phase-1 checkpoint> --seq-len 8192 --lr-scale 0.5) that continues from the saved weights with a
fresh optimizer. The config written is always the current common.COMMON (max_position_embeddings 8192).

Re-run (GPU machine): python3 tools/train/train.py --model demo-code --data /tmp/w/data \\
    --tokenizer-dir /tmp/w/tok --out /tmp/w/models/demo-code --seconds 330 [--init models/demo-code --seq-len 8192]
"""
import argparse
import json
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from common import (COMMON, PRESETS, SEQ_LEN, TOKENS_PER_STEP, copy_tokenizer, dump_json, load_tokens,  # noqa: E402
                    lr_at, param_count, save_hf)


def build_llama(preset):
    from transformers import LlamaConfig, LlamaForCausalLM
    c = dict(COMMON)
    c.update({k: v for k, v in preset.items() if k not in ("kind", "lr", "batch")})
    cfg = LlamaConfig(
        vocab_size=c["vocab_size"], hidden_size=c["hidden_size"], intermediate_size=c["intermediate_size"],
        num_hidden_layers=c["num_hidden_layers"], num_attention_heads=c["num_attention_heads"],
        num_key_value_heads=c["num_key_value_heads"], head_dim=c["head_dim"],
        max_position_embeddings=c["max_position_embeddings"], rms_norm_eps=c["rms_norm_eps"],
        rope_theta=c["rope_theta"], tie_word_embeddings=c["tie_word_embeddings"],
        bos_token_id=c["bos_token_id"], eos_token_id=c["eos_token_id"], initializer_range=c["initializer_range"],
        attention_bias=False, mlp_bias=False, hidden_act="silu",
    )
    return LlamaForCausalLM(cfg).float()


def build(name):
    preset = PRESETS[name]
    if preset["kind"] == "llama":
        return build_llama(preset)
    import lckv
    return lckv.LCKVLlamaForCausalLM(lckv.make_config(preset, COMMON))


def warm_start(model, init_dir):
    """Loads the weights of a saved checkpoint (fp16 safetensors) into a freshly built model of the same preset.
    Only parameters travel: RoPE frequencies are buffers rebuilt from the current config, so a checkpoint trained
    with a shorter max_position_embeddings continues under the new one."""
    from safetensors.torch import load_file
    sd = load_file(os.path.join(init_dir, "model.safetensors"))
    missing, unexpected = model.load_state_dict({k: v.float() for k, v in sd.items()}, strict=False)
    tied = json.load(open(os.path.join(init_dir, "config.json"))).get("tie_word_embeddings")
    allowed_missing = {"lm_head.weight"} if tied else set()
    if set(missing) - allowed_missing or unexpected:
        raise SystemExit(f"{init_dir}: missing {missing}, unexpected {unexpected}")
    if tied:  # the file has no lm_head: point it at the loaded embedding (a no-op where the tie already holds)
        model.lm_head.weight = model.model.embed_tokens.weight
    return len(sd)


def logits_of(model, x):
    if hasattr(model, "srcs"):  # LCKV
        return model(x)
    return model(input_ids=x, use_cache=False).logits


def save(name, model, out):
    os.makedirs(out, exist_ok=True)
    if PRESETS[name]["kind"] == "llama":
        save_hf(model.to(torch.float16), out)
    else:
        import lckv
        lckv.save(model, out, torch.float16)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, choices=sorted(PRESETS))
    ap.add_argument("--data", required=True)
    ap.add_argument("--tokenizer-dir", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seconds", type=float, required=True, help="training wall-clock budget")
    ap.add_argument("--seq-len", type=int, default=SEQ_LEN, help="training window (tokens)")
    ap.add_argument("--init", help="checkpoint folder to continue from (long-context phase)")
    ap.add_argument("--batch", type=int, help="default: TOKENS_PER_STEP / seq-len")
    ap.add_argument("--lr", type=float, help="peak learning rate (default: the preset's times --lr-scale)")
    ap.add_argument("--lr-scale", type=float, default=1.0)
    ap.add_argument("--rope-theta", type=float, help="override common.COMMON's RoPE base (experiments)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--stats", help="where to write the training statistics JSON")
    a = ap.parse_args()
    preset = PRESETS[a.model]
    S = a.seq_len
    batch = a.batch or max(1, TOKENS_PER_STEP // S)
    peak = a.lr or preset["lr"] * a.lr_scale
    torch.manual_seed(a.seed)
    torch.set_float32_matmul_precision("high")
    dev = torch.device("cuda")
    tag = f"[{a.model}]"

    if a.rope_theta:
        COMMON["rope_theta"] = a.rope_theta  # build() and the saved config read this dict
    model = build(a.model)
    if a.init:
        print(f"{tag} warm start from {a.init}: {warm_start(model, a.init)} tensors", flush=True)
    model = model.to(dev).train()
    n_params = param_count(model)
    print(f"{tag} params {n_params:,} batch {batch}x{S} lr {peak}", flush=True)

    data = torch.from_numpy(load_tokens(a.data, "train").astype(np.int32)).to(dev)  # [N]
    held = torch.from_numpy(load_tokens(a.data, "heldout").astype(np.int32)).to(dev)
    n_tok = data.numel()
    ar = torch.arange(S + 1, device=dev)
    gen = torch.Generator(device=dev)
    gen.manual_seed(1000 + a.seed)

    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=peak, betas=(0.9, 0.95), eps=1e-8, fused=True)
    V = COMMON["vocab_size"]

    t0 = time.time()
    step, tokens, loss_log = 0, 0, []
    while True:
        el = time.time() - t0
        if el >= a.seconds:
            break
        lr = lr_at(step, el / a.seconds, peak)
        for g in opt.param_groups:
            g["lr"] = lr
        off = torch.randint(0, n_tok - S - 1, (batch,), device=dev, generator=gen)
        w = data[off[:, None] + ar[None, :]].long()  # [B, S+1]
        x, y = w[:, :-1], w[:, 1:]
        with torch.autocast("cuda", dtype=torch.bfloat16):
            logits = logits_of(model, x)  # [B, S, V]
        loss = F.cross_entropy(logits.float().view(-1, V), y.reshape(-1))
        loss.backward()
        gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        step += 1
        tokens += batch * S
        if step % 50 == 0 or step == 1:
            lv = loss.item()
            loss_log.append((step, round(time.time() - t0, 1), lv))
            print(f"{tag} step {step} t {time.time() - t0:.0f}s loss {lv:.4f} gnorm {gnorm.item():.2f} "
                  f"lr {lr:.2e} tok/s {tokens / (time.time() - t0):,.0f}", flush=True)
            if not math.isfinite(lv):
                raise SystemExit(f"{tag} non-finite loss")
    torch.cuda.synchronize()
    train_s = time.time() - t0

    # quick held-out loss (bf16 autocast, one batch of training-length windows) for the log; evaluate.py
    # reports the real numbers
    model.eval()
    with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
        n = min(batch, (held.numel() - 1) // (S + 1))
        hw = held[: n * (S + 1)].view(n, S + 1).long()
        hl = F.cross_entropy(logits_of(model, hw[:, :-1]).float().view(-1, V), hw[:, 1:].reshape(-1)).item()
    print(f"{tag} done: {step} steps, {tokens:,} tokens, {train_s:.0f}s; quick held-out loss {hl:.4f} "
          f"(ppl {math.exp(hl):.2f})", flush=True)

    save(a.model, model, a.out)
    copy_tokenizer(a.tokenizer_dir, a.out, COMMON["max_position_embeddings"])
    dump_json({"model": a.model, "params": n_params, "steps": step, "tokens_seen": tokens,
               "train_seconds": round(train_s, 1), "batch": batch, "seq_len": S, "peak_lr": peak,
               "init": a.init, "config": {k: COMMON[k] for k in ("max_position_embeddings", "rope_theta")},
               "quick_heldout_loss": hl, "loss_log": loss_log,
               "gpu": torch.cuda.get_device_name(0), "torch": torch.__version__},
              a.stats or os.path.join(a.out + ".train.json"))
    print(f"{tag} saved {a.out}: {sorted(os.listdir(a.out))}", flush=True)


if __name__ == "__main__":
    main()
