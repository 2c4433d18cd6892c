#!/usr/bin/env bash
# Runs on the GPU machine (nvcc, CMake, no .NET), from the repository root:
#   1. unpacks the CLI that bench/device/pack.sh made (.pack/zoe-linux-x64.tar.xz),
#   2. builds libzoetrope_native.so with CMake (CUTLASS from .cutlass/ when it is there),
#   3. runs `zoe info`, then `zoe check` on ilgpu-cuda and cuda,
#   4. streams wan-1.3b (random weights, longlive, 3-frame blocks, 4 steps) on cuda for
#      dense/bf16, dense/W8A8 and SLA/W8A8 (FPS, first block, prompt switch, per-op, memory),
#   5. `zoe bench --suite all` on cuda (model-sized rows, device events, ceilings), then
#      bench/peers/peers.py on the same rows with PyTorch, then `zoe compare` of the two,
#   6. writes every output into the results folder given as the first argument; the two JSON
#      results are what gets committed under bench/results/<gpu>/.
# Usage: bench/device/run.sh RESULTS_DIR     Exit code: that of the check (0 = all passed).
set -uo pipefail
results=${1:?usage: bench/device/run.sh RESULTS_DIR}
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
mkdir -p "$results"
zoe_dir=$(mktemp -d)
tar -C "$zoe_dir" -xJf .pack/zoe-linux-x64.tar.xz || { echo "no .pack/zoe-linux-x64.tar.xz: run bench/device/pack.sh first"; exit 2; }
zoe="$zoe_dir/zoe"
export ZOETROPE_COMMIT=$(cat "$zoe_dir/COMMIT" 2>/dev/null || echo unknown)

cutlass_args=(-DZT_WITH_CUTLASS=OFF)
if [ -f .cutlass/include/cutlass/cutlass.h ]; then
  cutlass_args=(-DCUTLASS_DIR="$root/.cutlass")
fi
{
  nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,clocks.max.mem,memory.total --format=csv || true
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "${cutlass_args[@]}" &&
  cmake --build build -j "$(nproc)"
} > "$results/build.txt" 2>&1
build_rc=$?
tail -n 5 "$results/build.txt"
export ZOETROPE_NATIVE="$root/build/libzoetrope_native.so"

"$zoe" info > "$results/info.txt" 2>&1
cat "$results/info.txt"
backends=ilgpu-cuda
[ $build_rc -eq 0 ] && backends=ilgpu-cuda,cuda
"$zoe" check --backend "$backends" --bench-cases > "$results/check.txt" 2>&1
check_rc=$?
tail -n 40 "$results/check.txt"
[ $build_rc -ne 0 ] && echo "native build failed: see $results/build.txt" && exit 1
for variant in "dense bf16" "dense w8a8" "sla w8a8"; do
  set -- $variant
  "$zoe" stream --model wan-1.3b --backend cuda --preset longlive --blocks 12 --switch-at 8 \
    --attention "$1" --linear "$2" > "$results/stream-$1-$2.txt" 2>&1
  grep -E "first block|p50|FPS|switch|KV pool|peak" "$results/stream-$1-$2.txt" | sed "s/^/[$1+$2] /"
done
"$zoe" profile --model wan-1.3b --backend cuda --blocks 2 > "$results/profile.txt" 2>&1
head -n 30 "$results/profile.txt"
"$zoe" bench --suite all --backend cuda --out "$results/zoe.json" > "$results/bench.txt" 2>&1
tail -n 4 "$results/bench.txt"
python3 bench/peers/peers.py "$results/zoe.json" "$results/torch.json" > "$results/peers.txt" 2>&1 || echo "peers failed: see $results/peers.txt"
"$zoe" compare "$results/zoe.json" "$results/torch.json" --out "$results/compare" > /dev/null 2>&1 &&
  echo "comparison: $results/compare/compare.md" || echo "compare failed"
exit $check_rc
