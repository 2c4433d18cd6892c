#!/usr/bin/env bash
# Compile check for the CUDA code, with no GPU:
#  (a) every kernels/**/*.cu and native/src/*.cu is compiled for sm_80 and sm_89 with
#      `nvcc -Xptxas -v`; registers and spills are tabulated per kernel and architecture. A file
#      whose first lines say `// zt:requires sm_90a` or `// zt:requires cutlass` is skipped, by
#      name, when this toolkit cannot build it (CUDA 11.8 has no sm_90a; CUTLASS only with
#      CUTLASS_DIR set in the environment);
#  (b) with a folder argument, every *.ptx in it (ILGPU's output, from `zoe ptx all --out DIR`)
#      is assembled by ptxas for sm_80, sm_89 and sm_90.
# Exit status non-zero on any failure; the last line is the summary .ci/run reads.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
ptx_dir=${1:-}

nvcc_version=$(nvcc --version | sed -nE 's/.*release ([0-9]+)\.([0-9]+).*/\1/p')
ccbin=()
if [ "${nvcc_version:-0}" -lt 12 ] && g++ -dumpversion 2>/dev/null | grep -qE '^(1[2-9]|[2-9][0-9])' && command -v clang++-14 >/dev/null; then
  ccbin=(-ccbin clang++-14)   # nvcc 11.x rejects g++ >= 12
fi
cutlass_inc=()
[ -n "${CUTLASS_DIR:-}" ] && cutlass_inc=(-I "$CUTLASS_DIR/include" -I "$CUTLASS_DIR/tools/util/include" -DZT_HAVE_CUTLASS=1)

compiled=0; failed=0; skipped=0; assembled=0; ptx_failed=0
log=$(mktemp)

# Reads `ptxas -v` output on stdin; prints one row per entry function (names demangled).
table() {
  awk -v unit="$1" -v arch="$2" '
    /Compiling entry function/ { fn = $0; sub(/.*function \047/, "", fn); sub(/\047 for.*/, "", fn) }
    /bytes spill stores/ { split($0, a, ","); ss = a[2]; sl = a[3]; gsub(/[^0-9]/, "", ss); gsub(/[^0-9]/, "", sl) }
    /Used [0-9]+ registers/ { r = $0; sub(/.*Used /, "", r); sub(/ registers.*/, "", r);
      if (fn != "") { printf "%s\t%s\tsm_%s\t%s\t%s\t%s\n", unit, fn, arch, r, ss, sl }; fn = "" }' \
  | while IFS=$'\t' read -r u fn a r ss sl; do
      pretty=$(echo "$fn" | c++filt -p 2>/dev/null | sed -E 's/^void //; s/\(anonymous namespace\):://g')
      printf "  %-40s %-64s %-6s %5s %8s %8s\n" "$u" "${pretty:0:64}" "$a" "$r" "$ss" "$sl"
    done
}

printf "  %-40s %-64s %-6s %5s %8s %8s\n" "unit" "kernel" "arch" "regs" "spill-st" "spill-ld"
while IFS= read -r file; do
  head=$(head -n 10 "$file")
  if echo "$head" | grep -q 'zt:requires[[:space:]]*sm_90a' && [ "${nvcc_version:-0}" -lt 12 ]; then
    echo "  SKIPPED $file: needs sm_90a (nvcc ${nvcc_version}.x has none)"; skipped=$((skipped + 1)); continue
  fi
  if echo "$head" | grep -q 'zt:requires[[:space:]]*cutlass' && [ ${#cutlass_inc[@]} -eq 0 ]; then
    echo "  SKIPPED $file: needs CUTLASS (set CUTLASS_DIR)"; skipped=$((skipped + 1)); continue
  fi
  for arch in 80 89; do
    if nvcc "${ccbin[@]}" -std=c++17 --expt-relaxed-constexpr -c -I native/include -I kernels "${cutlass_inc[@]}" \
        -gencode "arch=compute_${arch},code=sm_${arch}" -Xptxas -v "$file" -o /dev/null > "$log" 2>&1; then
      compiled=$((compiled + 1))
      table "${file#./}" "$arch" < "$log"
    else
      failed=$((failed + 1))
      echo "  FAILED $file for sm_$arch:"
      sed 's/^/    /' "$log"
    fi
  done
done < <(find kernels native/src -name '*.cu' 2>/dev/null | sort)

if [ -n "$ptx_dir" ]; then
  shopt -s nullglob
  files=("$ptx_dir"/*.ptx)
  if [ ${#files[@]} -eq 0 ]; then
    echo "  FAILED: no .ptx files in $ptx_dir"; ptx_failed=$((ptx_failed + 1))
  fi
  for file in "${files[@]}"; do
    for arch in 80 89 90; do
      if ptxas -arch="sm_${arch}" -v "$file" -o /dev/null > "$log" 2>&1; then
        assembled=$((assembled + 1))
        table "$(basename "$file")" "$arch" < "$log"
      else
        ptx_failed=$((ptx_failed + 1))
        echo "  FAILED ptxas $file for sm_$arch:"
        sed 's/^/    /' "$log"
      fi
    done
  done
fi
rm -f "$log"
echo "cuda-check: $compiled compiled, $failed failed, $skipped skipped; $assembled ptx assembled, $ptx_failed failed"
[ "$failed" -eq 0 ] && [ "$ptx_failed" -eq 0 ]
