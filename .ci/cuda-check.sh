#!/usr/bin/env bash
# Compile and link check of the CUDA code, with no GPU (CUDA 12.4 from .ci/install-cuda.sh):
#  1. configures the native build with CMake (folder $ZT_BUILD_DIR, default build/) with
#     `-Xptxas -v` and .ci/nvcc-log.sh as the compiler launcher, so each file keeps its own log;
#  2. builds libzoetrope_native.so, keeping on past a failed file so every file is tried:
#     SASS for sm_80, sm_89, sm_90a and PTX for compute_80, compute_90 (CMakeLists.txt); files
#     that need CUTLASS are skipped, by name, when there is no checkout (.cutlass/ or CUTLASS_DIR);
#  3. .ci/cuda_report.py reads the logs: registers and spills per kernel and arch, spills in
#     kernels marked `zt:hot`, `zt:sass` expectations, the link and its exports; with a folder
#     argument it also assembles every *.ptx in it (ILGPU's output, `zoe ptx all --out DIR`)
#     for sm_80, sm_89 and sm_90.
# Usage: .ci/cuda-check.sh [PTX_DIR]
# Exit status non-zero on any failure; the last line is the summary .ci/run reads.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
ptx_dir=${1:-}
build=${ZT_BUILD_DIR:-$root/build}
prefix=${ZT_CUDA_PREFIX:-/opt/zoetrope/cuda-12.4}
# The tools the report calls (ptxas, cuobjdump) come from the same toolkit as nvcc.
command -v nvcc >/dev/null 2>&1 || export PATH="$prefix/bin:$PATH"
command -v nvcc >/dev/null 2>&1 || { echo "cuda-check: no nvcc (run .ci/install-cuda.sh)"; exit 1; }

configure=(-S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DZT_PTXAS_VERBOSE=ON
           -DCMAKE_CUDA_COMPILER="$(command -v nvcc)" -DCMAKE_CUDA_COMPILER_LAUNCHER="$root/.ci/nvcc-log.sh")
[ -n "${CUTLASS_DIR:-}" ] && configure+=(-DCUTLASS_DIR="$CUTLASS_DIR")
mkdir -p "$build"
if ! cmake "${configure[@]}" > "$build/configure.txt" 2>&1; then
  sed 's/^/  /' "$build/configure.txt"
  echo "cuda-check: 0 compiled, 1 failed, 0 skipped; link not tried; 0 hot spills; 0 ptx assembled, 0 failed; 0 serialized"
  exit 1
fi
grep -E '^-- zoetrope:' "$build/configure.txt"
# Keep going past a failed file (make -k / ninja -k 0) so one error does not hide the others.
keep_going=(-k)
grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja' "$build/CMakeCache.txt" && keep_going=(-k 0)
# An object built before the launcher was set has no log: rebuild it, so every file has one.
if [ -d "$build/CMakeFiles/zoetrope_native.dir" ]; then
  find "$build/CMakeFiles/zoetrope_native.dir" -name '*.cu.o' | while read -r obj; do
    [ -f "$obj.rc" ] || rm -f "$obj"
  done
fi
start=$(date +%s)
cmake --build "$build" -j "$(nproc)" -- "${keep_going[@]}" > "$build/build.txt" 2>&1
build_rc=$?
echo "  built in $(( $(date +%s) - start )) s (cmake --build exit $build_rc; log $build/build.txt)"
args=(--build "$build" --build-rc "$build_rc")
[ -n "$ptx_dir" ] && args+=(--ptx "$ptx_dir")
python3 .ci/cuda_report.py "${args[@]}"
