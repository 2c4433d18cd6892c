#!/usr/bin/env bash
# Builds, here, the device kit: everything a GPU machine needs to verify and benchmark this commit
# with no compiler and no .NET there. One archive, .pack/zoetrope-kit.tar.xz (ignored by git,
# under 60 MiB so it travels with the working tree), holding
#   zoe/                     `zoe` published self-contained and trimmed for linux-x64, with
#                            libzoetrope_native.so beside it (where zoe looks first)
#   peers/peers.py           the PyTorch peers (run there with the machine's own python3/torch)
#   merge_results.py         folds the per-suite results into one file to commit
#   MANIFEST                 commit, date, nvcc, the SASS and PTX archs, CUTLASS, sizes, sha256
# The native library is built by .ci/cuda-check.sh (CUDA 12.4 from .ci/install-cuda.sh, SASS
# sm_80/sm_89/sm_90a, PTX compute_80/compute_90, static cudart; the CUTLASS kernels when a
# checkout is in .cutlass/ or CUTLASS_DIR), so the kit only ships a library that compiled, linked,
# exports its whole API and has no spill in a hot kernel. bench/device/run.sh runs the kit.
# Usage: bench/device/pack.sh            (from anywhere in the repository; ZT_BUILD_DIR as cuda-check)
set -euo pipefail
root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
cd "$root"
limit_mib=60
out="$root/.pack"
kit="$out/zoetrope-kit.tar.xz"
build=${ZT_BUILD_DIR:-$root/build}
stage="$out/stage"
rm -rf "$stage"
mkdir -p "$stage/zoe" "$stage/peers"

# A kit made from uncommitted changes says so: its results must not pass for the commit's.
commit=$(git rev-parse --short HEAD)
git diff --quiet HEAD -- . 2>/dev/null || commit="$commit-dirty"

echo "pack: CUDA 12.4"
.ci/install-cuda.sh | sed 's/^/  /'
echo "pack: native library (.ci/cuda-check.sh into $build)"
ZT_BUILD_DIR="$build" .ci/cuda-check.sh > "$out/cuda-check.txt" 2>&1 || {
  grep -E 'FAILED|HOT|MISSING' "$out/cuda-check.txt" | head -n 20
  tail -n 1 "$out/cuda-check.txt"
  echo "pack: the native build or its checks failed (log: $out/cuda-check.txt); no kit made"
  exit 1
}
tail -n 1 "$out/cuda-check.txt" | sed 's/^/  /'

echo "pack: zoe (self-contained, trimmed, linux-x64)"
dotnet publish src/Cli -c Release -r linux-x64 -p:ZoePack=true -o "$stage/zoe" -nologo -v quiet
cp "$build/libzoetrope_native.so" "$stage/zoe/"
# The emulated device's outputs for every case it runs (same seeds as zoe check anywhere): on the GPU,
# run.sh saves the GPU backends' outputs of the same cases and zoe emu-compare sets them side by side.
echo "pack: the emulated device's outputs (zoe check --backend cuda-emu,ilgpu-emu --save-outputs)"
if ZOETROPE_NATIVE_EMU="$build" dotnet run -c Release --project src/Cli -- check --backend cuda-emu,ilgpu-emu \
     --save-outputs "$stage/emu-outputs" > "$out/emu-check.txt" 2>&1; then
  tail -n 1 "$out/emu-check.txt" | sed 's/^/  /'
else
  grep -E 'FAIL|passed' "$out/emu-check.txt" | tail -n 5
  echo "pack: the emulated device failed a case (log: $out/emu-check.txt); no kit made"
  exit 1
fi
cp bench/peers/peers.py "$stage/peers/"
cp bench/device/merge_results.py "$stage/"
echo "$commit" > "$stage/zoe/COMMIT"

nvcc=$(grep -oE 'from nvcc [0-9.]+' "$build/configure.txt" | head -n 1 | cut -d' ' -f3)
archs=$(grep -oE 'SASS [^;]*' "$build/configure.txt" | head -n 1)
cutlass=$(grep -oE 'CUTLASS (ON|OFF)' "$build/configure.txt" | tail -n 1 | cut -d' ' -f2)
{
  echo "commit $commit"
  echo "date $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "nvcc $nvcc"
  echo "code $archs"
  echo "cutlass $cutlass"
  echo "cudart static"
  (cd "$stage" && find . -type f ! -name MANIFEST -printf '%P\n' | sort | while read -r f; do
    echo "file $(sha256sum "$f" | cut -c1-16) $(stat -c %s "$f") $f"
  done)
} > "$stage/MANIFEST"

tar -C "$stage" -cf - . | xz -6 -T0 > "$kit.tmp"
mv "$kit.tmp" "$kit"
rm -rf "$stage"
bytes=$(stat -c %s "$kit")
mib=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1048576 }')
echo "pack: $kit: $mib MiB ($bytes bytes); commit $commit, nvcc $nvcc, $archs, CUTLASS $cutlass"
if [ "$bytes" -gt $((limit_mib * 1048576)) ]; then
  echo "pack: FAILED: the kit is over $limit_mib MiB, too big to travel with the working tree"
  exit 1
fi
