#!/usr/bin/env python3
"""How fast cuBLAS (through torch) reads a decode step's weights at a few rows, by GEMM and layout (issue 16).

A float16 decode step of the 1.1B shape at 32 x 512 spends ~59 % of its time in its GEMMs, which ONNX Runtime's CUDA
provider hands to cuBLAS at about half the card's read bandwidth (docs/benchmarks.md, rounds 5, 6 and 13: q/k/v and o
~7 us a call, down split-K ~14 us). This times the step's GEMMs the way a step meets them, over every layer's own weights
(2 GB in all, so no GEMM finds its weight in L2 from the one before), as one CUDA graph replayed (no launch gaps), at
M rows, and prints the read rate of each kind and of the whole sequence against the card's read bandwidth (the best of a
few sums over 8 GiB). Layouts: "kn" (x @ W, W [in, out]: the export's MatMul) and "nk" (x @ W^T, W [out, in]: F.linear).
With --compile, also torch.compile(mode="max-autotune-no-cudagraphs") of one layer's GEMMs, whose Triton templates are
tuned against cuBLAS per shape: whether any kernel beats cuBLAS at these shapes. Shapes default to TinyLlama-1.1B.
usage: gemm_shapes.py [--rows 1,32,64] [--layers 22] [--hidden 2048] [--kv 256] [--mlp 5632] [--compile]
"""
import argparse
import torch


def replay_ms(fn, reps=20):
    """Mean ms of fn captured as one CUDA graph and replayed, the best of three batches of replays."""
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(2):
            fn()
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        fn()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    best = float("inf")
    for _ in range(3):
        start.record()
        for _ in range(reps):
            graph.replay()
        end.record()
        torch.cuda.synchronize()
        best = min(best, start.elapsed_time(end) / reps)
    return best


def read_bandwidth():
    x = torch.empty(8 << 30, dtype=torch.uint8, device="cuda").view(torch.int64)
    return (8 << 30) / replay_ms(lambda: x.sum(), reps=5) / 1e6   # GB/s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", default="1,32,64")
    ap.add_argument("--layers", type=int, default=22)
    ap.add_argument("--hidden", type=int, default=2048)
    ap.add_argument("--kv", type=int, default=256, help="k and v widths (KV heads x head size)")
    ap.add_argument("--mlp", type=int, default=5632)
    ap.add_argument("--compile", action="store_true")
    a = ap.parse_args()
    h, kv, f, n = a.hidden, a.kv, a.mlp, a.layers
    kinds = {"qkv": (h, h + 2 * kv), "o": (h, h), "gate_up": (h, 2 * f), "down": (f, h)}   # (in, out)
    bandwidth = read_bandwidth()
    print(f"read bandwidth: {bandwidth:.0f} GB/s (best sum over 8 GiB)")
    for layout in ("kn", "nk"):
        weights = {k: [torch.randn((i, o) if layout == "kn" else (o, i), device="cuda", dtype=torch.float16) * 0.02
                       for _ in range(n)] for k, (i, o) in kinds.items()}
        for m in (int(r) for r in a.rows.split(",")):
            xs = {k: torch.randn(m, i, device="cuda", dtype=torch.float16) for k, (i, _) in kinds.items()}

            def gemm(k, w):
                return xs[k] @ w if layout == "kn" else torch.nn.functional.linear(xs[k], w)

            total_ms, total_bytes = 0.0, 0
            for k, ws in weights.items():
                ms = replay_ms(lambda: [gemm(k, w) for w in ws])
                nbytes = sum(w.numel() * 2 for w in ws)
                total_ms += ms
                total_bytes += nbytes
                print(f"  {layout} M={m:<3} {k:<8} {ms * 1000 / n:8.1f} us a layer  {nbytes / ms / 1e6:6.0f} GB/s  "
                      f"{100 * nbytes / ms / 1e6 / bandwidth:3.0f} %")
            step = replay_ms(lambda: [gemm(k, ws[l]) for l in range(n) for k, ws in weights.items()])
            print(f"  {layout} M={m:<3} all GEMMs in step order {step * 1000:8.1f} us  {total_bytes / step / 1e6:6.0f} GB/s  "
                  f"{100 * total_bytes / step / 1e6 / bandwidth:3.0f} %  (by kind, summed: {total_ms * 1000:.1f} us)")
            if a.compile and layout == "nk":
                layer = [weights[k][0] for k in kinds]
                fn = torch.compile(lambda: [torch.nn.functional.linear(xs[k], w) for k, w in zip(kinds, layer)],
                                   mode="max-autotune-no-cudagraphs")
                ms = replay_ms(fn)
                nbytes = sum(w.numel() * 2 for w in layer)
                print(f"  compiled M={m:<3} one layer's GEMMs {ms * 1000:8.1f} us  {nbytes / ms / 1e6:6.0f} GB/s "
                      f"(one layer's weights: L2-resident between replays, an upper bound)")


if __name__ == "__main__":
    main()
