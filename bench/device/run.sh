#!/usr/bin/env bash
# Runs the device kit (bench/device/pack.sh) on a GPU machine: no compiler, no .NET, no network.
# Each step runs under its own time limit, so one hang cannot eat the rest; every output lands
# under OUT; OUT/summary.txt always says which steps ran and passed, failed, timed out, were
# skipped, or found no GPU. Budget (seconds; the whole run fits in 9 minutes on one H100/H200):
#
#   unpack 15 | info 15 | check-cuda 60 | check-ilgpu-cuda 60 (outputs kept) | emu-compare 15
#   (the emulated device's outputs, packed with the kit, against the GPU's: validates the emulator)
#   bench-core 15, bench-norm 15, bench-rope 15, bench-quant 15, bench-gemm 25,
#   bench-attention 45, bench-sparse 35, bench-decode 20 (model-sized rows, device events, ceilings) | peers 45
#   bench-stream 90 (wan-1.3b streaming rows of 4 variants; one-shot 21-frame generation, dense
#   and turbo) | stream 35 (first block, prompt switch, per-op)
#   results 10 | compare 15                                        total 535 s, 5 s to spare
#
# A benchmark result is written as its rows land, so a step that times out keeps what it did.
# What to commit: OUT/results/<gpu>/<date>-<commit>.json and ...-torch.json (bench/results/).
#
# Usage: bench/device/run.sh OUT [--kit FILE] [--rebuild] [--bundle-logs] [--time-scale F]
#   --kit FILE       the kit archive (default .pack/zoetrope-kit.tar.xz beside this repository)
#   --rebuild        also rebuild libzoetrope_native.so here with this machine's nvcc and CMake
#                    (300 s more) and run the kit with that library instead of the shipped one
#   --bundle-logs    leave only summary.txt, compare.md, emu-validation.md, results/ and logs.tar.gz in OUT (for a
#                    transport that returns a few files)
#   --time-scale F   multiply every limit by F (a slower GPU, or a first run that must not stop)
# Exit status: 0 every step that ran passed; 1 a step failed or timed out; 2 bad usage or no kit;
# 3 no GPU here (the GPU steps are listed as "no GPU", the others ran).
set -uo pipefail

usage() { sed -n '/^# Usage:/,/^# Exit status/p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
[ $# -ge 1 ] || usage
out=$1; shift
root=$(cd "$(dirname "$0")/../.." && pwd)
kit="$root/.pack/zoetrope-kit.tar.xz"
rebuild=0; bundle=0; scale=1
while [ $# -gt 0 ]; do
  case "$1" in
    --kit) kit=${2:?--kit needs a file}; shift 2 ;;
    --rebuild) rebuild=1; shift ;;
    --bundle-logs) bundle=1; shift ;;
    --time-scale) scale=${2:?--time-scale needs a factor}; shift 2 ;;
    *) echo "run.sh: unknown argument '$1'"; usage ;;
  esac
done
mkdir -p "$out/logs" "$out/bench" || exit 2
out=$(cd "$out" && pwd)
logs="$out/logs"
summary="$out/summary.txt"
work=$(mktemp -d)
started=$(date +%s)

steps=()       # "name|status|seconds|limit|detail", in order
any_failed=0
gpu_name=""
record() { steps+=("$1|$2|$3|$4|$5"); }

write_summary() {
  {
    echo "zoetrope device kit: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(( $(date +%s) - started )) s in all"
    echo "kit: $kit ($(sed -n 's/^commit //p' "$work/kit/MANIFEST" 2>/dev/null || echo '?'))"
    echo "gpu: ${gpu_name:-none found}"
    echo
    printf '%-18s %-10s %8s %8s  %s\n' step status seconds limit detail
    for s in "${steps[@]}"; do
      IFS='|' read -r name status secs limit detail <<< "$s"
      printf '%-18s %-10s %8s %8s  %s\n' "$name" "$status" "$secs" "$limit" "$detail"
    done
  } > "$summary"
}

finish() {
  write_summary
  if [ "$bundle" -eq 1 ]; then
    tar -C "$out" -czf "$out/logs.tar.gz" logs bench $( [ -d "$out/compare" ] && echo compare ) $( [ -d "$out/gpu-outputs" ] && echo gpu-outputs ) 2>/dev/null &&
      rm -rf "$out/logs" "$out/bench" "$out/compare" "$out/gpu-outputs"
  fi
  rm -rf "$work"
  cat "$summary"
}
trap finish EXIT
trap 'record interrupted failed "$(( $(date +%s) - started ))" - "the run was interrupted"; exit 1' INT TERM

# (at least 1 s: `timeout 0` would mean no limit at all)
limit_of() { awk -v s="$1" -v f="$scale" 'BEGIN { l = int(s * f + 0.5); printf "%d", l < 1 ? 1 : l }'; }

# The line of a step's log that says how it went: zoe's own summary lines, else the last line.
detail_of() {
  local line
  line=$(grep -aE '^(native shim:|[0-9]+ passed, [0-9]+ failed|wrote |merged |commit these|comparison|FPS|first block|error)' "$1" | tail -n 1)
  [ -n "$line" ] || line=$(grep -av '^\s*$' "$1" | tail -n 1)
  echo "$line" | tr -d '\r' | cut -c1-110
}

# run_step NAME LIMIT NEEDS_GPU COMMAND...: runs COMMAND with stdout/stderr in logs/NAME.txt.
run_step() {
  local name=$1 limit; limit=$(limit_of "$2"); local needs_gpu=$3; shift 3
  if [ "$needs_gpu" = gpu ] && [ -z "$gpu_name" ]; then
    record "$name" "no GPU" 0 "$limit" "nvidia-smi lists no GPU and /dev/nvidia0 is absent"
    return 0
  fi
  local t0 rc; t0=$(date +%s)
  # timeout signals the whole process group it starts; `bash -c` lets COMMAND be a function
  # of this script (exported below) as well as a program.
  timeout --kill-after=5 "$limit" bash -c '"$@"' "$name" "$@" > "$logs/$name.txt" 2>&1
  rc=$?
  local secs=$(( $(date +%s) - t0 ))
  if [ $rc -eq 0 ]; then
    record "$name" passed "$secs" "$limit" "$(detail_of "$logs/$name.txt")"
  elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
    record "$name" "timed out" "$secs" "$limit" "killed at the limit; partial output in logs/$name.txt"; any_failed=1
  else
    record "$name" failed "$secs" "$limit" "exit $rc: $(detail_of "$logs/$name.txt")"; any_failed=1
  fi
  IFS='|' read -r _ status _ <<< "${steps[-1]}"
  echo "[$(( $(date +%s) - started )) s] $name: $status ($secs s of $limit)"
  return $rc
}

skip() { record "$1" skipped 0 - "$2"; }

# --- the GPU: nvidia-smi, else the device node ----------------------------------------------------
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L > "$logs/nvidia-smi.txt" 2>&1 && grep -q '^GPU ' "$logs/nvidia-smi.txt"; then
  gpu_name=$(sed -nE '1s/^GPU 0: ([^(]*[^ (]).*/\1/p' "$logs/nvidia-smi.txt")
  nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,clocks.max.mem,memory.total --format=csv >> "$logs/nvidia-smi.txt" 2>&1
elif [ -e /dev/nvidia0 ]; then
  gpu_name="a GPU at /dev/nvidia0 (no nvidia-smi)"
fi

# --- the kit --------------------------------------------------------------------------------------
if [ ! -f "$kit" ]; then
  record unpack failed 0 - "no kit at $kit: run bench/device/pack.sh on the build machine first"
  exit 2
fi
mkdir -p "$work/kit"
run_step unpack 15 any tar -C "$work/kit" -xJf "$kit" || exit 2
zoe="$work/kit/zoe/zoe"
export root out work zoe gpu_name
export ZOETROPE_COMMIT; ZOETROPE_COMMIT=$(cat "$work/kit/zoe/COMMIT" 2>/dev/null || echo unknown)
export ZOETROPE_NATIVE="$work/kit/zoe/libzoetrope_native.so"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

if [ "$rebuild" -eq 1 ]; then
  # CMake finds CUTLASS in .cutlass/ by itself; nvcc from PATH or CUDACXX.
  rebuild_cmd() { cmake -S "$root" -B "$work/build" -DCMAKE_BUILD_TYPE=Release && cmake --build "$work/build" -j "$(nproc)"; }
  export -f rebuild_cmd
  if run_step rebuild 300 any rebuild_cmd; then
    export ZOETROPE_NATIVE="$work/build/libzoetrope_native.so"
  fi
fi

# --- checks: every op against the reference on both GPU backends ------------------------------------
run_step info 15 any "$zoe" info
# Both keep their outputs: the emulated device's, made when the kit was packed, are compared with them.
run_step check-cuda 60 gpu "$zoe" check --backend cuda --save-outputs "$out/gpu-outputs"
run_step check-ilgpu-cuda 60 gpu "$zoe" check --backend ilgpu-cuda --save-outputs "$out/gpu-outputs"
if [ -d "$work/kit/emu-outputs" ]; then
  run_step emu-compare 15 gpu "$zoe" emu-compare "$work/kit/emu-outputs" "$out/gpu-outputs" --out "$out/emu-validation.md"
fi

# --- benchmarks, one process per suite, then the peers on the same rows -----------------------------
for suite in core:15 norm:15 rope:15 quant:15 gemm:25 attention:45 sparse:35 decode:20; do
  run_step "bench-${suite%%:*}" "${suite##*:}" gpu "$zoe" bench --suite "${suite%%:*}" --backend cuda --out "$out/bench/zoe-${suite%%:*}.json"
done
merge() { python3 "$work/kit/merge_results.py" "$1" "${@:2}"; }
bench_files() { ls "$out"/bench/zoe-*.json 2>/dev/null; }
peers() {
  local files; files=$(bench_files)
  [ -n "$files" ] || { echo "no benchmark results to measure peers for"; return 1; }
  merge "$work/zoe-ops.json" $files && python3 "$work/kit/peers/peers.py" "$work/zoe-ops.json" "$out/bench/torch.json"
}
export -f merge bench_files peers
if [ -z "$gpu_name" ]; then
  run_step peers 45 gpu true
elif ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import torch' >/dev/null 2>&1; then
  skip peers "no python3 with torch here"
else
  run_step peers 45 gpu peers
fi

# --- streaming: the stream rows of the result, and one session with a prompt switch ---------------
run_step bench-stream 90 gpu "$zoe" bench --suite stream --backend cuda --out "$out/bench/zoe-stream.json"
run_step stream 35 gpu "$zoe" stream --model wan-1.3b --backend cuda --dtype bf16 --preset longlive --blocks 6 --switch-at 4 \
  --attention sla --linear w8a8

# --- what to commit, and the comparison ------------------------------------------------------------
results() {
  local files; files=$(bench_files)
  [ -n "$files" ] || { echo "no benchmark results"; return 1; }
  local slug date
  # The folder is the device name zoe recorded, slugged as `zoe bench` does (BenchCommand.Slug).
  slug=$(python3 -c 'import json, re, sys; n = json.load(open(sys.argv[1]))["device"]["name"]; print("-".join(re.split(r"[^a-z0-9]+", n.lower())).strip("-"))' $files)
  date=$(date -u +%Y-%m-%d)
  mkdir -p "$out/results/$slug"
  merge "$out/results/$slug/$date-$ZOETROPE_COMMIT.json" $files || return 1
  [ -f "$out/bench/torch.json" ] && cp "$out/bench/torch.json" "$out/results/$slug/$date-$ZOETROPE_COMMIT-torch.json"
  echo "commit these under bench/results/$slug/: $(ls "$out/results/$slug" | tr '\n' ' ')"
}
export -f results
if [ -n "$gpu_name" ] && ! command -v python3 >/dev/null 2>&1; then
  skip results "no python3 to merge the per-suite results (they are in bench/)"
else
  run_step results 10 gpu results
fi
compare() {
  local files; files=$(bench_files)
  [ -n "$files" ] || { echo "no benchmark results to compare"; return 1; }
  "$zoe" compare $files $( [ -f "$out/bench/torch.json" ] && echo "$out/bench/torch.json" ) --out "$out/compare" &&
    cp "$out/compare/compare.md" "$out/compare.md"
}
export -f compare
run_step compare 15 gpu compare

[ -z "$gpu_name" ] && exit 3
[ "$any_failed" -eq 0 ]
