#!/usr/bin/env bash
# Installs Debian's CUDA toolkit (11.8: nvcc, ptxas, nvdisasm) for compiling kernels on a
# machine with no GPU. The toolkit lives in Debian's non-free section, which these machines do
# not enable: a copy of the machine's own apt source with the contrib/non-free components is
# written beside it (no host is named here). Idempotent; exits non-zero if nvcc is still missing.
set -euo pipefail
if command -v nvcc >/dev/null 2>&1 && command -v ptxas >/dev/null 2>&1; then
  echo "install-cuda: $(nvcc --version | grep -o 'release [0-9.]*') already installed"
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
src=/etc/apt/sources.list.d/debian.sources
dst=/etc/apt/sources.list.d/zoetrope-nonfree.sources
if [ -f "$src" ]; then
  [ -f "$dst" ] || sed -E 's/^Components:.*/Components: contrib non-free/' "$src" | $sudo tee "$dst" >/dev/null
elif [ -f /etc/apt/sources.list ]; then
  sed -nE 's/^(deb(-src)? .*) main( .*)?$/\1 contrib non-free/p' /etc/apt/sources.list | $sudo tee /etc/apt/sources.list.d/zoetrope-nonfree.list >/dev/null
else
  echo "install-cuda: no apt source found to extend with non-free"
  exit 1
fi
echo "install-cuda: enabled contrib/non-free; installing nvidia-cuda-toolkit (a few minutes)"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends nvidia-cuda-toolkit >/tmp/zoetrope-apt.log 2>&1 || {
  tail -n 20 /tmp/zoetrope-apt.log
  exit 1
}
command -v nvcc >/dev/null 2>&1 || { echo "install-cuda: nvcc still missing"; exit 1; }
echo "install-cuda: $(nvcc --version | grep -o 'release [0-9.]*') installed"
