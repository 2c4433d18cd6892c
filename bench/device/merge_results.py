#!/usr/bin/env python3
"""Folds several zoetrope.bench/1 results of one run (the device kit benchmarks suite by suite,
each in its own process under its own time limit) into one result, the file that is committed.

The header (commit, device, runtime) must agree across the inputs: they are one machine in one
run; a mismatch is an error naming both files. Ceilings: the element-wise maximum (each file's
ceilings are already at least its best row), and every row's fraction_of_ceiling is recomputed
against the merged ceilings, as zoe bench computes it (the larger of TFLOP/s over the GEMM
ceiling and GB/s over the copy ceiling). Rows keep their order, file by file.

usage: merge_results.py OUT.json IN.json [IN.json ...]
Standard library only (it runs on the GPU machine's python3).
"""
import json
import os
import sys


def main(argv):
    if len(argv) < 3:
        sys.exit("usage: merge_results.py OUT.json IN.json [IN.json ...]")
    out, inputs = argv[1], argv[2:]
    merged, first = None, None
    for path in inputs:
        try:
            with open(path) as f:
                doc = json.load(f)
        except (OSError, ValueError) as e:
            sys.exit(f"{path}: not a readable JSON result: {e}")
        if doc.get("schema") != "zoetrope.bench/1":
            sys.exit(f"{path}: schema {doc.get('schema')!r} is not zoetrope.bench/1")
        if merged is None:
            merged, first = {k: v for k, v in doc.items() if k != "cases"}, path
            merged["ceilings"] = dict(doc["ceilings"])
            merged["cases"] = []
        else:
            for key in ("commit", "device"):
                if doc[key] != merged[key]:
                    sys.exit(f"{path}: {key} {doc[key]!r} differs from {first}'s {merged[key]!r}: not one run")
            c, m = doc["ceilings"], merged["ceilings"]
            if c["copy_gbps"] > m["copy_gbps"]:
                m["copy_gbps"] = c["copy_gbps"]
            if c["gemm_tflops"] > m["gemm_tflops"]:
                m["gemm_tflops"], m["gemm_case"] = c["gemm_tflops"], c["gemm_case"]
        merged["cases"].extend(doc["cases"])
    ceil = merged["ceilings"]
    for row in merged["cases"]:
        if row.get("fraction_of_ceiling") is not None and ceil["gemm_tflops"] > 0 and ceil["copy_gbps"] > 0:
            row["fraction_of_ceiling"] = max(row["tflops"] / ceil["gemm_tflops"], row["gbps"] / ceil["copy_gbps"])
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(merged, f, indent=2)
    os.replace(tmp, out)
    print(f"merged {len(inputs)} results into {out} ({len(merged['cases'])} rows)")


if __name__ == "__main__":
    main(sys.argv)
