#!/usr/bin/env bash
# Packs `zoe` for a GPU machine that has no .NET: a self-contained, trimmed linux-x64 publish
# (ILGPU, the core library and our assemblies kept whole; see src/Cli/ILLink.Descriptors.xml),
# compressed with xz into .pack/zoe-linux-x64.tar.xz (ignored by git). Prints the size.
# Usage: bench/device/pack.sh            (run from anywhere inside the repository)
set -euo pipefail
root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
cd "$root"
out="$root/.pack"
stage="$out/zoe-linux-x64"
rm -rf "$stage"
mkdir -p "$out"
dotnet publish src/Cli -c Release -r linux-x64 -p:ZoePack=true -o "$stage" -nologo -v quiet
git rev-parse --short HEAD > "$stage/COMMIT"
tar -C "$stage" -cf - . | xz -9 -T0 > "$out/zoe-linux-x64.tar.xz"
rm -rf "$stage"
bytes=$(stat -c %s "$out/zoe-linux-x64.tar.xz")
echo "packed $out/zoe-linux-x64.tar.xz: $(( bytes / 1024 / 1024 )).$(( bytes * 10 / 1024 / 1024 % 10 )) MiB ($bytes bytes)"
