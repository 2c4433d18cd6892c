#!/usr/bin/env bash
# CMAKE_CUDA_COMPILER_LAUNCHER of the native build (set by .ci/cuda-check.sh): runs one nvcc
# command and keeps what it printed and its exit status beside the object it makes (<obj>.log,
# <obj>.rc), so a parallel build still leaves one whole log per file (ptxas -v tables, errors)
# and an object that is up to date keeps the log of the compile that made it. Quiet on success;
# on failure the output is printed too, so a plain `cmake --build` still shows the error.
obj=""
prev=""
for arg in "$@"; do
  [ "$prev" = "-o" ] && obj=$arg
  prev=$arg
done
if [ -z "$obj" ]; then
  exec "$@"
fi
mkdir -p "$(dirname "$obj")"
"$@" > "$obj.log" 2>&1
rc=$?
echo "$rc" > "$obj.rc"
[ "$rc" -eq 0 ] || cat "$obj.log"
exit "$rc"
