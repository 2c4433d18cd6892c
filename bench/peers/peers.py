#!/usr/bin/env python3
"""PyTorch peers for a Zoetrope benchmark result, measured on the same GPU in the same run.

Reads the result `zoe bench` just wrote (its rows carry op, case label, dtype and every tensor's
shape), measures the PyTorch equivalent of each row it knows, and writes a result file in the same
schema (zoetrope.bench/1) whose rows have backend "torch" and a `peer` naming the implementation:

    attention / sage_attention / block_sparse_attention  -> sdpa   (F.scaled_dot_product_attention, bf16/f16)
    linear                                               -> matmul (torch.nn.functional.linear)
    linear_int8                                          -> _int_mm (torch._int_mm, int8 x int8 -> int32)
    linear_fp8                                           -> _scaled_mm (torch._scaled_mm, e4m3, per-row/col scales)
    rms_norm, layer_norm, rope_apply, adaln_modulate, gated_residual -> eager (the PyTorch op chain)
    conv3d                                               -> cudnn  (F.conv3d in channels_last_3d after the causal
                                                                    F.pad, nearest F.interpolate first when upsampled)
    channel_rms_norm                                     -> eager  (F.normalize * sqrt(C) * gamma, F.silu)

Timing follows bench/METHOD: CUDA events around each run, warm-up first, N repetitions, rotating
input sets larger than twice the L2, random data; the ceilings (a large D2D copy, the best bf16
matmul) are measured here too. Only measured numbers are written.

usage: python3 bench/peers/peers.py ZOE_RESULT.json OUT.json [--repeat 20] [--warmup 3]
"""
import argparse
import datetime
import json
import math
import re
import statistics
import sys

import torch
import torch.nn.functional as F

DTYPES = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}


def percentile(samples, p):
    s = sorted(samples)
    rank = p / 100 * (len(s) - 1)
    lo, hi = math.floor(rank), math.ceil(rank)
    return s[lo] + (s[hi] - s[lo]) * (rank - lo)


def rotating(make, set_bytes):
    l2 = torch.cuda.get_device_properties(0).L2_cache_size
    count = max(1, min(8, math.ceil(2 * l2 / max(set_bytes, 1))))
    return [make() for _ in range(count)]


def time_it(fn_sets, warmup, repeat):
    for i in range(warmup):
        fn_sets[i % len(fn_sets)]()
    torch.cuda.synchronize()
    samples = []
    for i in range(repeat):
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn_sets[i % len(fn_sets)]()
        stop.record()
        stop.synchronize()
        samples.append(start.elapsed_time(stop))
    return samples


def num(label, key):
    m = re.search(r"\b" + key + r"=(\d+)", label)
    return int(m.group(1)) if m else None


def attention_case(row, dtype):
    t = row["tensors"]
    label = row["shape"]
    q, k = t["q"], t["k"]
    nhd = " NHD " in f" {label} "
    if row["op"] == "sage_attention":  # its q/k are int8: the peer runs the same shapes in bf16
        dtype = torch.bfloat16
    def make():
        def rnd(shape):
            x = torch.randn(shape, device="cuda", dtype=dtype)
            return x.transpose(1, 2) if nhd else x
        return rnd(q), rnd(k), rnd(t.get("v", k))
    causal = "causal" in label and "block" not in label
    gqa = q[1 if not nhd else 2] != k[1 if not nhd else 2]
    def run(args):
        qq, kk, vv = args
        return F.scaled_dot_product_attention(qq, kk, vv, is_causal=causal, enable_gqa=gqa)
    return "sdpa", make, run


def peer_for(row):
    op, dtype_name, t, label = row["op"], row["dtype"], row.get("tensors") or {}, row["shape"]
    dtype = DTYPES.get(dtype_name)
    if op in ("attention", "sage_attention", "block_sparse_attention") and "q" in t:
        return attention_case(row, dtype or torch.bfloat16)
    if op == "linear" and dtype is not None:
        m, n, k = num(label, "M"), num(label, "N"), num(label, "K")
        make = lambda: (torch.randn(m, k, device="cuda", dtype=dtype), torch.randn(n, k, device="cuda", dtype=dtype))
        return "matmul", make, lambda a: F.linear(a[0], a[1])
    if op == "linear_int8":
        m, n, k = num(label, "M"), num(label, "N"), num(label, "K")
        make = lambda: (torch.randint(-127, 128, (m, k), device="cuda", dtype=torch.int8),
                        torch.randint(-127, 128, (n, k), device="cuda", dtype=torch.int8).t())
        return "_int_mm", make, lambda a: torch._int_mm(a[0], a[1])
    if op == "linear_fp8":
        m, n, k = num(label, "M"), num(label, "N"), num(label, "K")
        def make():
            a = torch.randn(m, k, device="cuda").to(torch.float8_e4m3fn)
            b = torch.randn(n, k, device="cuda").to(torch.float8_e4m3fn).t()
            return a, b, torch.rand(m, 1, device="cuda"), torch.rand(1, n, device="cuda")
        return "_scaled_mm", make, lambda a: torch._scaled_mm(a[0], a[1], scale_a=a[2], scale_b=a[3], out_dtype=torch.bfloat16)
    if op == "rms_norm" and dtype is not None:
        x = t["x"]
        make = lambda: (torch.randn(x, device="cuda", dtype=dtype), torch.randn(x[-1], device="cuda", dtype=dtype))
        return "eager", make, lambda a: F.rms_norm(a[0], (a[0].shape[-1],), a[1], 1e-6)
    if op == "layer_norm" and dtype is not None:
        x = t["x"]
        make = lambda: (torch.randn(x, device="cuda", dtype=dtype),)
        return "eager", make, lambda a: F.layer_norm(a[0].float(), (a[0].shape[-1],), eps=1e-6).to(a[0].dtype)
    if op == "rope_apply" and dtype is not None:
        x = t["x"]
        def make():
            v = torch.randn(x, device="cuda", dtype=dtype)
            ang = torch.randn(x[:-1] + [x[-1] // 2], device="cuda")
            return v, torch.polar(torch.ones_like(ang), ang)
        def run(a):
            v, freqs = a
            c = torch.view_as_complex(v.float().reshape(*v.shape[:-1], -1, 2))
            return torch.view_as_real(c * freqs).flatten(-2).to(v.dtype)
        return "eager", make, run
    if op in ("adaln_modulate", "gated_residual") and dtype is not None:
        x = t["x"]
        def make():
            return (torch.randn(x, device="cuda", dtype=dtype), torch.randn(x, device="cuda", dtype=dtype),
                    torch.randn(x[0], 1, x[2], device="cuda"), torch.randn(x[0], 1, x[2], device="cuda"))
        if op == "adaln_modulate":
            run = lambda a: (F.layer_norm(a[0].float(), (a[0].shape[-1],), eps=1e-6) * (1 + a[2]) + a[3]).to(a[0].dtype)
        else:
            run = lambda a: (a[0].float() + a[1].float() * a[2]).to(a[0].dtype)
        return "eager", make, run
    if op == "conv3d" and dtype is not None:
        return conv3d_case(row, dtype)
    if op == "channel_rms_norm" and dtype is not None:
        x = t["x"]
        silu = " silu" in f" {label} "
        make = lambda: (torch.randn(x, device="cuda", dtype=dtype), torch.randn(x[-1], device="cuda", dtype=dtype))
        def run(a):
            y = F.normalize(a[0], dim=-1) * (a[0].shape[-1] ** 0.5) * a[1]
            return F.silu(y) if silu else y
        return "eager", make, run
    return None


def conv3d_case(row, dtype):
    # Our layout is channel-last [T, H, W, C]; PyTorch's fast path for it is NCDHW with
    # channels_last_3d memory, which cuDNN runs as an implicit GEMM too. The causal time padding is
    # an F.pad of the past side, as Wan's CausalConv3d does; the upsampled cases interpolate first
    # (the intermediate tensor is part of the peer's cost, as it is in the PyTorch decoders).
    t, label = row["tensors"], row["shape"]
    frames, h, w, cin = t["x"]
    cout, kt, kh, kw, _ = t["weight"]
    m = re.search(r"tpad=(\d+)", label)
    tpad = int(m.group(1)) if m else kt - 1
    up = " up2" in f" {label} "
    def make():
        x = torch.randn(1, cin, frames, h, w, device="cuda", dtype=dtype).to(memory_format=torch.channels_last_3d)
        wt = torch.randn(cout, cin, kt, kh, kw, device="cuda", dtype=dtype).to(memory_format=torch.channels_last_3d)
        return x, wt, torch.randn(cout, device="cuda", dtype=dtype)
    def run(a):
        x, wt, b = a
        if up:
            x = F.interpolate(x, scale_factor=(1, 2, 2), mode="nearest")
        x = F.pad(x, (0, 0, 0, 0, tpad, 0))
        return F.conv3d(x, wt, b, padding=(0, kh // 2, kw // 2))
    return "cudnn", make, run


def ceilings(warmup, repeat):
    n = 1 << 30
    a, b = torch.empty(n, dtype=torch.uint8, device="cuda"), torch.empty(n, dtype=torch.uint8, device="cuda")
    copy = statistics.median(time_it([lambda: b.copy_(a)], warmup, repeat))
    x = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    gemm = statistics.median(time_it([lambda: x @ x], warmup, repeat))
    return {"copy_gbps": 2 * n / (copy * 1e6), "gemm_tflops": 2 * 8192 ** 3 / (gemm * 1e9), "gemm_case": "torch bf16 matmul 8192^3"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("zoe_result")
    ap.add_argument("out")
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    args = ap.parse_args()
    with open(args.zoe_result) as f:
        zoe = json.load(f)
    if zoe.get("schema") != "zoetrope.bench/1":
        sys.exit(f"{args.zoe_result}: schema {zoe.get('schema')!r} is not zoetrope.bench/1")
    ceil = ceilings(args.warmup, args.repeat)
    rows, seen = [], set()
    for row in zoe["cases"]:
        key = (row["op"], row["shape"], row["dtype"])
        if key in seen or not row.get("tensors"):
            continue
        seen.add(key)
        found = peer_for(row)
        if found is None:
            continue
        name, make, run = found
        try:
            sets = rotating(make, sum(math.prod(s) for s in row["tensors"].values()) * 2)
            samples = time_it([lambda a=a: run(a) for a in sets], args.warmup, args.repeat)
        except (RuntimeError, TypeError, ValueError) as e:  # a case this torch build cannot run
            print(f"skip {row['op']} {row['shape']}: {e}", file=sys.stderr)
            continue
        med = statistics.median(samples)
        flops = row["tflops"] * row["median_ms"] * 1e9  # same work as the Zoetrope row
        bytes_ = row["gbps"] * row["median_ms"] * 1e6
        tflops, gbps = flops / (med * 1e9), bytes_ / (med * 1e6)
        rows.append({
            "op": row["op"], "backend": "torch", "shape": row["shape"], "dtype": row["dtype"], "iterations": len(samples),
            "median_ms": med, "min_ms": min(samples), "p90_ms": percentile(samples, 90), "tflops": tflops, "gbps": gbps,
            "fraction_of_ceiling": max(tflops / ceil["gemm_tflops"], gbps / ceil["copy_gbps"]), "error_vs_reference": None,
            "peer": name, "samples_ms": samples, "tensors": row["tensors"],
        })
        print(f"{row['op']:24s} {row['shape'][:60]:60s} {name:10s} {med:9.3f} ms")
    props = torch.cuda.get_device_properties(0)
    out = {
        "schema": "zoetrope.bench/1", "commit": zoe["commit"],
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        # The same machine as the zoe result: its device name, so `zoe compare` pairs the rows.
        "device": {"name": zoe["device"]["name"], "sm": f"sm_{props.major}{props.minor}", "sms": props.multi_processor_count,
                   "memory": props.total_memory, "driver": zoe["device"]["driver"], "clocks": zoe["device"]["clocks"]},
        "runtime": {"dotnet": f"python {sys.version.split()[0]} / torch {torch.__version__}", "ilgpu": "", "cuda": torch.version.cuda or "none"},
        "ceilings": ceil, "cases": rows,
    }
    with open(args.out, "w") as f:
        json.dump(out, f, indent=2)
    print(f"wrote {args.out} ({len(rows)} peer rows)")


if __name__ == "__main__":
    main()
