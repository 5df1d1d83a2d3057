"""The transformers peer of condensa bench on the GPU: a random LlamaForCausalLM at TinyLlama-1.1B's shape in fp16 with
sdpa attention, decoding greedily with generate() and its dynamic cache. Per (batch, context): prefill tok/s from a
1-token generate, decode tok/s from a 33-token generate minus that prefill; after one warm-up generate each."""
import time

import torch
from transformers import LlamaConfig, LlamaForCausalLM

config = LlamaConfig(vocab_size=32000, hidden_size=2048, intermediate_size=5632, num_hidden_layers=22, num_attention_heads=32,
                     num_key_value_heads=4, max_position_embeddings=8448, rope_theta=10000.0)
torch.manual_seed(0)
model = LlamaForCausalLM(config).to(torch.float16).cuda().eval()
model.config._attn_implementation = "sdpa"
print(f"weights {sum(p.numel() * p.element_size() for p in model.parameters()) / 1e9:.2f} GB, transformers sdpa fp16", flush=True)
steps = 32
for batch, context in [(1, 512), (32, 512), (1, 2048), (32, 2048), (1, 8192), (32, 8192)]:
    ids = torch.randint(100, 32000, (batch, context), device="cuda")
    with torch.no_grad():
        model.generate(ids, max_new_tokens=4, min_new_tokens=4, do_sample=False)   # warm-up
        torch.cuda.synchronize(); start = time.perf_counter()
        model.generate(ids, max_new_tokens=1, min_new_tokens=1, do_sample=False); torch.cuda.synchronize()
        prefill = time.perf_counter() - start
        start = time.perf_counter()
        model.generate(ids, max_new_tokens=steps + 1, min_new_tokens=steps + 1, do_sample=False); torch.cuda.synchronize()
        decode = time.perf_counter() - start - prefill
    print(f"batch {batch:3d} context {context:5d}: prefill {batch * context / prefill:9.0f} tok/s, "
          f"decode {batch * steps / decode:8.1f} tok/s ({decode / steps * 1e3:.2f} ms/step)", flush=True)
