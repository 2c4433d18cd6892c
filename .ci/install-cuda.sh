#!/usr/bin/env bash
# Brings CUDA 12.4.1 (nvcc, ptxas, nvdisasm, cuobjdump, headers, static cudart) into a fixed prefix
# on a Debian 12 machine with no GPU, for compiling the kernels; nothing is installed system-wide.
#
# Debian's trixie suite carries nvidia-cuda-toolkit 12.4.131 in its non-free section. Installing it
# would pull trixie's libc into this bookworm host, so the packages are only *downloaded* (through a
# private apt configuration whose one source is a copy of the machine's own Debian source with the
# suite trixie and the components main contrib non-free) and unpacked with dpkg-deb into the prefix.
# The host's libc, g++ 12 and apt state are untouched. nvcc.profile is rewritten with $(_HERE_) so
# the prefix is relocatable, and bin/, include/, lib64/, nvvm/ give it the layout of NVIDIA's own
# toolkit, which CMake's FindCUDAToolkit and nvcc's -I/-L defaults expect.
#
#   .ci/install-cuda.sh            -> /opt/zoetrope/cuda-12.4 (ZT_CUDA_PREFIX overrides)
#   export PATH=/opt/zoetrope/cuda-12.4/bin:$PATH
#
# Idempotent: a prefix whose nvcc already reports 12.4 is left alone. The prefix appears only when
# complete (staged beside it, then renamed). On failure the last line says what failed.
# Timing on a 2-core machine: about 10 s to download 1 GB, about 40 s to unpack.
set -euo pipefail

prefix=${ZT_CUDA_PREFIX:-/opt/zoetrope/cuda-12.4}
release=12.4
packages=(nvidia-cuda-toolkit libnvvm4 libcudart12 libcu++-dev libcub-dev libthrust-dev nvidia-cuda-dev)

fail() { echo "install-cuda: FAILED: $*" >&2; exit 1; }

if [ -x "$prefix/bin/nvcc" ] && "$prefix/bin/nvcc" --version 2>/dev/null | grep -q "release $release"; then
  echo "install-cuda: CUDA $("$prefix/bin/nvcc" --version | sed -nE 's/.*release [0-9.]+, V([0-9.]+).*/\1/p') already in $prefix"
  exit 0
fi
for tool in apt-get dpkg-deb tar; do
  command -v "$tool" >/dev/null || fail "$tool is missing (this script needs a Debian host)"
done
parent=$(dirname "$prefix")
mkdir -p "$parent" 2>/dev/null && [ -w "$parent" ] || fail "cannot write $parent (run as root, or set ZT_CUDA_PREFIX to a folder you own)"

work=$(mktemp -d "${TMPDIR:-/tmp}/zt-cuda.XXXXXX")
trap 'rm -rf "$work"' EXIT
stage="$prefix.partial"
rm -rf "$stage"
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/debs" "$stage"

# --- the private apt source: the machine's own Debian mirror, suite trixie ----------------------
# deb822 (.sources) or one-line (sources.list); the first entry whose suite is the release itself
# (not -security/-updates) gives the URI and its keyring.
source_line=""
for f in /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] || continue
  source_line=$(awk '
    BEGIN { RS = ""; FS = "\n" }
    {
      uri = ""; key = ""; suites = ""; types = ""
      for (i = 1; i <= NF; i++) {
        if ($i ~ /^#/) continue
        if ($i ~ /^URIs:/)      { uri = $i;    sub(/^URIs:[ \t]*/, "", uri);      sub(/[ \t].*/, "", uri) }
        if ($i ~ /^Signed-By:/) { key = $i;    sub(/^Signed-By:[ \t]*/, "", key) }
        if ($i ~ /^Suites:/)    { suites = $i; sub(/^Suites:[ \t]*/, "", suites) }
        if ($i ~ /^Types:/)     { types = $i }
      }
      if (types ~ /[ \t]deb([ \t]|$)/ && uri != "" && suites !~ /-security/ && suites ~ /^[a-z]+( |$)/) {
        opt = (key != "" && key !~ /^-/) ? "[signed-by=" key "] " : ""
        print "deb " opt uri " trixie main contrib non-free"; exit
      }
    }' "$f")
  [ -n "$source_line" ] && break
done
if [ -z "$source_line" ] && [ -f /etc/apt/sources.list ]; then
  source_line=$(sed -nE '/security/d; s/^deb (\[[^]]*\] )?([^ ]+) [a-z]+ .*/deb \1\2 trixie main contrib non-free/p' /etc/apt/sources.list | head -n 1)
fi
[ -n "$source_line" ] || fail "no Debian apt source found in /etc/apt/sources.list{,.d} to derive a trixie source from"
echo "$source_line" > "$work/trixie.list"
apt_opts=(-o "Dir::Etc::SourceList=$work/trixie.list" -o Dir::Etc::SourceParts=/dev/null
          -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o APT::Sandbox::User=root
          -o Debug::NoLocking=1 -qq)

echo "install-cuda: downloading CUDA $release from Debian trixie (non-free) into $prefix"
apt-get "${apt_opts[@]}" update > "$work/apt.log" 2>&1 || { tail -n 5 "$work/apt.log" >&2; fail "apt-get update of the trixie source"; }
(cd "$work/debs" && apt-get "${apt_opts[@]}" download "${packages[@]}") > "$work/apt.log" 2>&1 ||
  { tail -n 5 "$work/apt.log" >&2; fail "apt-get download ${packages[*]}"; }
version=$(cd "$work/debs" && ls nvidia-cuda-toolkit_*.deb | sed -E 's/^nvidia-cuda-toolkit_([0-9.]+)~.*/\1/')
case "$version" in "$release".*) ;; *) fail "trixie offers nvidia-cuda-toolkit $version, not $release.x";; esac

# --- unpack: everything but nvidia-cuda-dev whole; of that one (930 MB of mostly static math
# libraries) the headers, cudart, cudadevrt and the driver stub ------------------------------------
dev_members=(./usr/include ./usr/lib/x86_64-linux-gnu/libcudart_static.a ./usr/lib/x86_64-linux-gnu/libcudart.so
             ./usr/lib/x86_64-linux-gnu/libcudadevrt.a ./usr/lib/x86_64-linux-gnu/libculibos.a
             ./usr/lib/x86_64-linux-gnu/stubs/libcuda.so)
mkdir -p "$work/dev"
(dpkg-deb --fsys-tarfile "$work"/debs/nvidia-cuda-dev_*.deb | tar -x -C "$work/dev" "${dev_members[@]}") &
dev_pid=$!
for deb in "$work"/debs/*.deb; do
  case "$deb" in */nvidia-cuda-dev_*) continue;; esac
  dpkg-deb -x "$deb" "$stage" || fail "dpkg-deb -x $(basename "$deb")"
done
wait "$dev_pid" || fail "unpacking the headers and cudart of nvidia-cuda-dev"
tar -C "$work/dev" -cf - . | tar -C "$stage" -xf - || fail "merging nvidia-cuda-dev into $stage"
rm -rf "$stage/usr/share/doc" "$stage/usr/share/lintian" "$stage/etc"

# --- relocatable, in the layout of NVIDIA's own toolkit (bin/, include/, lib64/, nvvm/), which
# CMake's FindCUDAToolkit expects. nvcc takes $(_HERE_) from the path it was called by, without
# resolving links, so each of its two places gets a profile relative to itself (Debian's own is a
# link to /etc/nvcc.profile, with absolute paths). --------------------------------------------------
tk="$stage/usr/lib/nvidia-cuda-toolkit"
profile() {  # $1: the path from the profile's folder to the prefix
  printf '%s\n' \
    '# Written by .ci/install-cuda.sh: paths relative to this folder, so the prefix works wherever it lies.' \
    "NVVMIR_LIBRARY_DIR = \$(_HERE_)/$1/nvvm/libdevice" \
    "PATH += \$(_HERE_):\$(_HERE_)/$1/bin:" \
    "INCLUDES += \"-I\$(_HERE_)/$1/include\" \$(_SPACE_)" \
    "LIBRARIES =+ \$(_SPACE_) \"-L\$(_HERE_)/$1/lib64/stubs\" \"-L\$(_HERE_)/$1/lib64\""
}
# Debian's gcc/g++ wrappers pick the newest g++ by name; without them nvcc uses the host's g++.
rm -f "$tk/bin/nvcc.profile" "$tk/bin/gcc" "$tk/bin/g++"
mkdir -p "$stage/bin" "$stage/nvvm"
ln -s usr/include "$stage/include"
ln -s usr/lib/x86_64-linux-gnu "$stage/lib64"
ln -s ../usr/lib/nvidia-cuda-toolkit/libdevice "$stage/nvvm/libdevice"
profile ../../../.. > "$tk/bin/nvcc.profile"
profile .. > "$stage/bin/nvcc.profile"
for tool in "$tk/bin/nvcc" "$tk/bin/cicc" "$tk/bin/crt" "$stage"/usr/bin/*; do
  name=$(basename "$tool")
  # a dangling link (Debian's compute-sanitizer points outside the prefix) stays out
  [ -e "$tool" ] && [ ! -e "$stage/bin/$name" ] || continue
  ln -s "$(realpath -s --relative-to="$stage/bin" "$tool")" "$stage/bin/$name"
done
printf '%s\n' "$version" > "$stage/version.txt"

"$stage/bin/nvcc" --version > "$work/nvcc.txt" 2>&1 || { cat "$work/nvcc.txt" >&2; fail "the unpacked nvcc does not run"; }
rm -rf "$prefix"
mv "$stage" "$prefix"
echo "install-cuda: CUDA $version in $prefix ($(du -sh "$prefix" | cut -f1)); $(grep -o 'release.*' "$work/nvcc.txt")"
echo "install-cuda: export PATH=$prefix/bin:\$PATH"
