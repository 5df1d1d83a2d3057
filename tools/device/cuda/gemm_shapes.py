#!/usr/bin/env python3
"""How fast a decode step's GEMMs can read their weights at a few rows, by GEMM, layout and kernel (issue 16).

A float16 decode step of the 1.1B shape at 32 x 512 spends ~59 % of its time in its GEMMs, which ONNX Runtime's CUDA
provider hands to cuBLAS at about half the card's read bandwidth (docs/benchmarks.md, rounds 5, 6 and 13: q/k/v and o
~7 us a call, down split-K ~14 us). This times the step's GEMMs the way a step meets them, over every layer's own weights
(2 GB in all, so no GEMM finds its weight in L2 from the one before), as one CUDA graph replayed (no launch gaps), at
M rows, and prints the read rate of each kind and of the whole sequence against the card's read bandwidth (the best of a
few sums over 8 GiB). Kernels:
  cublas     torch's default (cuBLAS / cuBLASLt heuristics), layouts "kn" (x @ W, W [in, out]: the export's MatMul) and
             "nk" (x @ W^T, W [out, in]: F.linear)
  tunableop  torch's TunableOp: every cuBLASLt algorithm it is offered, timed per shape, the fastest kept (--tunableop)
  splitk     a split-K Triton kernel of our own for few rows over W [in, out]: each program reads a [BLOCK_K, BLOCK_N]
             slab of W once, float32 partials, then one small reduction kernel to float16 (its time included); the
             config (BLOCK_N, BLOCK_K, SPLIT_K, warps, stages) is the fastest of a small grid per shape (--splitk)
  compiled   torch.compile(mode="max-autotune-no-cudagraphs") per kind over every layer, Inductor's Triton templates
             tuned against cuBLAS (--compile; minutes of tuning)
usage: gemm_shapes.py [--rows 1,32,64] [--layers 22] [--hidden 2048] [--kv 256] [--mlp 5632] [--tunableop] [--splitk]
                      [--compile]
"""
import argparse
import itertools
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


def report(label, m, weights, gemm, bandwidth):
    """Times each kind's GEMMs over every layer, then all of them in step order; gemm(kind, layer) runs one."""
    n = len(next(iter(weights.values())))
    total_ms, total_bytes = 0.0, 0
    for k, ws in weights.items():
        ms = replay_ms(lambda: [gemm(k, l) for l in range(n)])
        nbytes = sum(w.numel() * 2 for w in ws)
        total_ms += ms
        total_bytes += nbytes
        print(f"  {label:<12} M={m:<3} {k:<8} {ms * 1000 / n:8.1f} us a layer  {nbytes / ms / 1e6:6.0f} GB/s  "
              f"{100 * nbytes / ms / 1e6 / bandwidth:3.0f} %", flush=True)
    step = replay_ms(lambda: [gemm(k, l) for l in range(n) for k in weights])
    print(f"  {label:<12} M={m:<3} all GEMMs in step order {step * 1000:8.1f} us  {total_bytes / step / 1e6:6.0f} GB/s  "
          f"{100 * total_bytes / step / 1e6 / bandwidth:3.0f} %  (by kind, summed: {total_ms * 1000:.1f} us)", flush=True)


def splitk_gemm():
    """Our split-K kernel for few rows (imported only when asked for: Triton compiles on first use)."""
    import triton
    import triton.language as tl

    @triton.jit
    def partials(x, w, part, M, N, K, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,
                 SPLIT_K: tl.constexpr):
        # program (n, s) reads W[s-th K range, n-th N block] once; every row of x rides along (x is small, L2-resident)
        pid_n, pid_s = tl.program_id(0), tl.program_id(1)
        rm = tl.arange(0, BLOCK_M)
        rn = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
        span = K // SPLIT_K
        acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
        for k0 in range(pid_s * span, (pid_s + 1) * span, BLOCK_K):
            rk = k0 + tl.arange(0, BLOCK_K)
            a = tl.load(x + rm[:, None] * K + rk[None, :], mask=rm[:, None] < M, other=0.0)
            b = tl.load(w + rk[:, None] * N + rn[None, :])
            acc += tl.dot(a, b)
        tl.store(part + pid_s * M * N + rm[:, None] * N + rn[None, :], acc, mask=rm[:, None] < M)

    @triton.jit
    def reduce(part, out, MN, SPLIT_K: tl.constexpr, BLOCK: tl.constexpr):
        r = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        acc = tl.zeros((BLOCK,), dtype=tl.float32)
        for s in range(SPLIT_K):
            acc += tl.load(part + s * MN + r, mask=r < MN, other=0.0)
        tl.store(out + r, acc.to(tl.float16), mask=r < MN)

    def run(x, w, part, out, cfg):
        m, k = x.shape
        n = w.shape[1]
        bn, bk, s, warps, stages = cfg
        bm = max(16, triton.next_power_of_2(m))
        partials[(n // bn, s)](x, w, part, m, n, k, BLOCK_M=bm, BLOCK_N=bn, BLOCK_K=bk, SPLIT_K=s,
                               num_warps=warps, num_stages=stages)
        reduce[(triton.cdiv(m * n, 1024),)](part, out, m * n, SPLIT_K=s, BLOCK=1024)
        return out

    def configs(k, n):
        for bn, bk, s, warps, stages in itertools.product((64, 128), (64, 128), (1, 2, 4, 8), (4,), (3, 4)):
            if n % bn == 0 and k % (bk * s) == 0:
                yield bn, bk, s, warps, stages

    return run, configs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", default="1,32,64")
    ap.add_argument("--layers", type=int, default=22)
    ap.add_argument("--hidden", type=int, default=2048)
    ap.add_argument("--kv", type=int, default=256, help="k and v widths (KV heads x head size)")
    ap.add_argument("--mlp", type=int, default=5632)
    ap.add_argument("--tunableop", action="store_true")
    ap.add_argument("--splitk", action="store_true")
    ap.add_argument("--compile", action="store_true")
    a = ap.parse_args()
    h, kv, f, n = a.hidden, a.kv, a.mlp, a.layers
    kinds = {"qkv": (h, h + 2 * kv), "o": (h, h), "gate_up": (h, 2 * f), "down": (f, h)}   # (in, out)
    rows = [int(r) for r in a.rows.split(",")]
    bandwidth = read_bandwidth()
    print(f"read bandwidth: {bandwidth:.0f} GB/s (best sum over 8 GiB)  {torch.cuda.get_device_name()}", flush=True)
    kn = {k: [torch.randn(i, o, device="cuda", dtype=torch.float16) * 0.02 for _ in range(n)] for k, (i, o) in kinds.items()}
    nk = {k: [w.t().contiguous() for w in ws] for k, ws in kn.items()}
    inputs = {m: {k: torch.randn(m, i, device="cuda", dtype=torch.float16) for k, (i, _) in kinds.items()} for m in rows}
    for m in rows:
        xs = inputs[m]
        report("cublas kn", m, kn, lambda k, l: xs[k] @ kn[k][l], bandwidth)
        report("cublas nk", m, nk, lambda k, l: torch.nn.functional.linear(xs[k], nk[k][l]), bandwidth)
    if a.splitk:
        run, configs = splitk_gemm()
        for m in rows:
            xs, best = inputs[m], {}
            for k, (i, o) in kinds.items():
                part = torch.empty(8 * m * o, device="cuda", dtype=torch.float32)
                out = torch.empty(m, o, device="cuda", dtype=torch.float16)
                timed = []
                for cfg in configs(i, o):
                    try:
                        timed.append((replay_ms(lambda: [run(xs[k], w, part, out, cfg) for w in kn[k]], reps=5), cfg))
                    except Exception as e:   # a config Triton cannot fit (shared memory, registers): skip it
                        print(f"  splitk M={m} {k} {cfg}: {type(e).__name__}", flush=True)
                ms, cfg = min(timed)
                err = (run(xs[k], kn[k][0], part, out, cfg).float() - (xs[k] @ kn[k][0]).float()).abs().max().item()
                best[k] = (cfg, part, out)
                print(f"  splitk M={m:<3} {k:<8} best (BLOCK_N, BLOCK_K, SPLIT_K, warps, stages) = {cfg} of {len(timed)}, "
                      f"max |diff| against cuBLAS {err:.2e}", flush=True)
            report("splitk kn", m, kn, lambda k, l: run(xs[k], kn[k][l], best[k][1], best[k][2], best[k][0]), bandwidth)
    if a.tunableop:
        torch.cuda.tunable.enable(True)
        torch.cuda.tunable.tuning_enable(True)
        for m in rows:
            xs = inputs[m]
            for k in kinds:   # tune each shape outside capture: TunableOp does not tune while a graph is captured
                xs[k] @ kn[k][0]
                torch.nn.functional.linear(xs[k], nk[k][0])
            torch.cuda.synchronize()
            torch.cuda.tunable.tuning_enable(False)
            report("tunableop kn", m, kn, lambda k, l: xs[k] @ kn[k][l], bandwidth)
            report("tunableop nk", m, nk, lambda k, l: torch.nn.functional.linear(xs[k], nk[k][l]), bandwidth)
            torch.cuda.tunable.tuning_enable(True)
        torch.cuda.tunable.enable(False)
    if a.compile:
        for m in rows:
            xs = inputs[m]
            fns = {k: torch.compile(lambda x, w: torch.nn.functional.linear(x, w), mode="max-autotune-no-cudagraphs",
                                    dynamic=False) for k in kinds}
            report("compiled nk", m, nk, lambda k, l: fns[k](xs[k], nk[k][l]), bandwidth)


if __name__ == "__main__":
    main()
