#!/usr/bin/env python3
"""What one strided device copy costs (cudaMemcpy2DAsync, device to device, on the legacy stream, as CudaRuntime.CopyOnDevice
issues them), by how many are issued back to back and how wide each is: the constant DeviceKvStorage weighs strided copies
against kv_write's index of every entry with.

A KV tensor is [rows, heads, slots, head_dim]; a run of slots of one row is one copy of `heads` spans, `slots` entries
apart. The script times N such copies (then one cudaStreamSynchronize) between two tensors of demo-code-mha's geometry
(16 heads, 64 x float16 = 128 bytes an entry), for N in 8 .. 2,048 and runs of 1 to 7,680 entries, and prints the time
per copy. Needs torch (the buffers) and libcudart.so.13 (the calls); no ONNX Runtime.
usage: span_copy_cost.py [OUT.md]
"""
import ctypes
import sys
import time

import torch

HEADS, ENTRY_BYTES, SLOTS, ROWS = 16, 128, 8192, 64
cudart = ctypes.CDLL("libcudart.so.13")
cudart.cudaMemcpy2DAsync.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t,
                                     ctypes.c_size_t, ctypes.c_int, ctypes.c_void_p]
DEVICE_TO_DEVICE = 3


def copies(source, destination, n, run):
    """n copies of `run` entries of each head, row i % ROWS of the source to row (i + 1) % ROWS of the destination."""
    pitch = SLOTS * ENTRY_BYTES
    for i in range(n):
        s = source + (i % ROWS) * HEADS * pitch
        d = destination + ((i + 1) % ROWS) * HEADS * pitch
        status = cudart.cudaMemcpy2DAsync(d, pitch, s, pitch, run * ENTRY_BYTES, HEADS, DEVICE_TO_DEVICE, None)
        if status != 0:
            raise SystemExit(f"cudaMemcpy2DAsync failed with {status}")
    if cudart.cudaStreamSynchronize(None) != 0:
        raise SystemExit("cudaStreamSynchronize failed")


def main():
    a = torch.empty(ROWS * HEADS * SLOTS * ENTRY_BYTES, dtype=torch.uint8, device="cuda")
    b = torch.empty_like(a)
    torch.cuda.synchronize()
    lines = ["| copies | entries a run | µs a copy (median of 7) | GB/s (read + write) |", "|---:|---:|---:|---:|"]
    for run in (1, 8, 64, 272, 1024, 7680):
        for n in (8, 64, 256, 1024, 2048):
            times = []
            for _ in range(8):
                start = time.perf_counter()
                copies(a.data_ptr(), b.data_ptr(), n, run)
                times.append(time.perf_counter() - start)
            median = sorted(times[1:])[3]
            moved = 2 * n * run * ENTRY_BYTES * HEADS
            lines.append(f"| {n} | {run} | {median / n * 1e6:.2f} | {moved / median / 1e9:.0f} |")
    text = "\n".join([f"{torch.cuda.get_device_name()}, {HEADS} heads x {ENTRY_BYTES} bytes an entry, rows {SLOTS} slots apart", ""] + lines)
    print(text)
    if len(sys.argv) > 1:
        open(sys.argv[1], "w").write(text + "\n")


if __name__ == "__main__":
    main()
