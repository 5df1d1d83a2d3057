#!/usr/bin/env python3
"""How fast cuBLAS reads a decode step's cache in float32, by the form of the product (issue 18, round 28).

A float32 plain step on cuda runs at ~40 % of the read bound (round 27): one query a row, so attention's two products are
batched GEMVs over every row's keys and values. This times those products in torch (cuBLAS, TF32 off) at demo-code-mha's
shape (16 heads x 64 dims) over B rows x C slots, in the forms a graph could write them, and prints each one's read rate:
  qk        q [BH,1,D] @ K^T [BH,D,C]           (the scores; the reduction is over D)
  qk-kq     K [BH,C,D] @ q [BH,D,1]             (the same product, the other operand order)
  qk-mulsum (K * q).sum(D)                      (element-wise, a [BH,C,D] temporary)
  qk-blockN K [BH,C/N,N·D] @ q block-diagonal [BH,N·D,N]  (a GEMM of N columns; +q: building the block-diagonal query too)
  pv        p [BH,1,C] @ V [BH,C,D]             (the output; the reduction is over all C slots)
  pv-vt     Vᵀ [BH,D,C] @ pᵀ [BH,C,R]            (the same product transposed, both operands read in place)
  pv-split  p [BH*n,1,C/n] @ V [BH*n,C/n,D], summed over n  (the reduction cut into n chunks, then a small sum; with
            R > 1 rows, the probabilities chunk-major as given (+0) or transposed into it first (+t))
  graph-plain  q·Kᵀ, + bias, softmax, · V: the slots graph's plain form (a pass of more than one token a row) end to end
  sdpa      torch's scaled_dot_product_attention over the same q, K, V (its own kernels), for scale
With --rows R > 1 (a KV head's query rows in a pass: G for a grouped-query model's one-token step, γ + 1 for a chain's
verification) q is [BH,R,D] and p [BH,R,C], and the forms whose scores come out slot-major ([C, R] or [C/N, N·R]) are
timed also with the transpose into the [R, C] that softmax takes (+t), as a graph would have to run it.
usage: gemv_forms.py [--batch 32] [--slots 8192] [--dtype float32] [--rows 1]
"""
import argparse
import torch


def timed(fn, reps=20):
    fn(); torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    best = float("inf")
    for _ in range(3):
        start.record()
        for _ in range(reps):
            fn()
        end.record(); torch.cuda.synchronize()
        best = min(best, start.elapsed_time(end) / reps)
    return best   # ms


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--slots", type=int, default=8192)
    ap.add_argument("--heads", type=int, default=16)
    ap.add_argument("--head-dim", type=int, default=64)
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--rows", type=int, default=1)
    a = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    dt = getattr(torch, a.dtype)
    bh, c, d, r = a.batch * a.heads, a.slots, a.head_dim, a.rows
    k = torch.randn(bh, c, d, device="cuda", dtype=dt)
    v = torch.randn(bh, c, d, device="cuda", dtype=dt)
    q = torch.randn(bh, r, d, device="cuda", dtype=dt)
    p = torch.softmax(torch.randn(bh, r, c, device="cuda", dtype=torch.float32), -1).to(dt)
    cache_bytes = k.numel() * k.element_size()
    print(f"{a.dtype}: {a.batch} rows x {c} slots x {a.heads} heads x {d} dims, {r} query rows a head, "
          f"{cache_bytes / 1e9:.3f} GB of keys (and of values)")

    def line(name, ms, bytes_read=cache_bytes):
        print(f"  {name:<14} {ms * 1000:9.1f} us  {bytes_read / ms / 1e6:7.0f} GB/s")

    line("qk", timed(lambda: torch.bmm(q, k.transpose(1, 2))))
    line("qk-kq", timed(lambda: torch.bmm(k, q.transpose(1, 2))))
    if r > 1:
        line("qk-kq+t", timed(lambda: torch.bmm(k, q.transpose(1, 2)).transpose(1, 2).contiguous()))
    if r == 1:
        line("qk-mulsum", timed(lambda: (k * q).sum(-1)))

    def block_query(n):
        # the query block-diagonal [BH, n·D, n·R]: block j holds q^T [D, R] at rows j·D.., columns j·R..
        eye = torch.eye(n, device="cuda", dtype=dt).reshape(1, n, 1, n, 1)
        return (q.transpose(1, 2).reshape(bh, 1, d, 1, r) * eye).reshape(bh, n * d, n * r)

    for n in (4, 8, 16, 32):
        # n slots a row: K [BH, C/n, n·D] @ the block-diagonal query -> [BH, C/n, n·R]: at R = 1 the scores in slot order
        qb, kn = block_query(n), k.reshape(bh, c // n, n * d)
        line(f"qk-block{n}", timed(lambda: torch.bmm(kn, qb)))
        line(f"qk-block{n}+q", timed(lambda: torch.bmm(kn, block_query(n))))
        if r > 1:   # [C/n, n, R] -> [R, C/n, n] = [R, C]
            line(f"qk-block{n}+q+t", timed(lambda: torch.bmm(kn, block_query(n)).reshape(bh, c // n, n, r).permute(0, 3, 1, 2).contiguous()))
    line("pv", timed(lambda: torch.bmm(p, v)))
    line("pv-vt", timed(lambda: torch.bmm(v.transpose(1, 2), p.transpose(1, 2))))   # (P·V)ᵀ = Vᵀ·Pᵀ, both read in place
    for n in (4, 8, 16, 32, 64):
        if c % n: continue
        vn = v.reshape(bh * n, c // n, d)
        if r == 1:
            pn = p.reshape(bh * n, 1, c // n)
            line(f"pv-split{n}", timed(lambda: torch.bmm(pn, vn).reshape(bh, n, d).sum(1)))
        else:   # the probabilities chunk-major [BH, n, R, C/n]: as given (+0), or transposed from [BH, R, C] first (+t)
            pn = p.reshape(bh, r, n, c // n).transpose(1, 2).contiguous().reshape(bh * n, r, c // n)
            line(f"pv-split{n}+0", timed(lambda: torch.bmm(pn, vn).reshape(bh, n, r, d).sum(1)))
            line(f"pv-split{n}+t", timed(lambda: torch.bmm(p.reshape(bh, r, n, c // n).transpose(1, 2).reshape(bh * n, r, c // n),
                                                         vn).reshape(bh, n, r, d).sum(1)))
    # the slots graph's plain form as a pass runs it: q·Kᵀ, + bias, softmax, · V
    bias = torch.zeros(a.batch, 1, r, c, device="cuda", dtype=dt)
    line("graph-plain", timed(lambda: torch.bmm(torch.softmax((torch.bmm(q, k.transpose(1, 2)).reshape(a.batch, a.heads, r, c)
                                                               + bias).reshape(bh, r, c), -1), v)), 2 * cache_bytes)
    q4, k4, v4 = (t.reshape(a.batch, a.heads, -1, d) for t in (q, k, v))
    for name, backend in (("sdpa-math", torch.nn.attention.SDPBackend.MATH),
                          ("sdpa-efficient", torch.nn.attention.SDPBackend.EFFICIENT_ATTENTION),
                          ("sdpa-flash", torch.nn.attention.SDPBackend.FLASH_ATTENTION)):
        try:
            with torch.nn.attention.sdpa_kernel(backend):
                ms = timed(lambda: torch.nn.functional.scaled_dot_product_attention(q4, k4, v4))
            line(name, ms, 2 * cache_bytes)
        except RuntimeError as e:
            print(f"  {name:<14} refused: {str(e).splitlines()[0][:100]}")


if __name__ == "__main__":
    main()
