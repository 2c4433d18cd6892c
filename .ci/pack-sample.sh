#!/usr/bin/env bash
# The packages as a user gets them: packs Engine.sln into a temporary feed, checks what each
# package holds, builds and runs samples/StreamTiny from that feed as a project outside the
# repository would (its own nuget.config pointed at the feed, a fresh packages folder, so no
# Zoetrope 0.1.0 left in ~/.nuget/packages can stand in), then installs the `zoe` tool from the
# feed into a temporary tool path and runs `zoe info`.
# With build/libzoetrope_native.so (CMake's build) the packages carry it and the sample and the
# tool must load it from their runtimes/linux-x64/native/ folder with no environment variable;
# without it the packages must carry none and the pack must say so.
# Ends with "pack-sample: N passed, N failed in S s"; exits non-zero on any failure.
# Usage: .ci/pack-sample.sh   (called by .ci/run)
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
t0=$(date +%s)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0
pass() { passed=$((passed + 1)); echo "pack-sample: passed: $*"; }
fail() { failed=$((failed + 1)); echo "pack-sample: FAILED: $*"; }
finish() {
  echo "pack-sample: $passed passed, $failed failed in $(( $(date +%s) - t0 )) s"
  [ "$failed" -eq 0 ]
  exit
}
native_rel=native/libzoetrope_native.so
if [ -f build/libzoetrope_native.so ]; then built=1; else built=0; fi
feed="$work/feed"
layers=(Zoetrope.Runtime Zoetrope.Emulator Zoetrope.Quant Zoetrope.Attention Zoetrope.Engine)

echo "pack-sample: dotnet pack Engine.sln -c Release -o <temp feed> (native library: $([ $built = 1 ] && echo build/libzoetrope_native.so || echo none))"
if ! dotnet pack Engine.sln -c Release -o "$feed" -nologo > "$work/pack.txt" 2>&1; then
  grep -E 'error|warning' "$work/pack.txt" | sort -u | head -n 20
  fail "dotnet pack Engine.sln"
  finish
fi
echo "pack-sample: packed in $(( $(date +%s) - t0 )) s: $(cd "$feed" && ls ./*.nupkg | xargs -n1 basename | tr '\n' ' ')"

# Exactly the layers, Zoetrope and the tool: no test, bench or generator package.
expected=$(printf '%s.0.1.0.nupkg\n' "${layers[@]}" Zoetrope Zoetrope.Cli | sort)
actual=$(cd "$feed" && ls ./*.nupkg | xargs -n1 basename | sort)
if [ "$actual" = "$expected" ]; then pass "the feed holds the 7 packages and nothing else"
else fail "the feed holds: $(echo "$actual" | tr '\n' ' '), expected: $(echo "$expected" | tr '\n' ' ')"; fi

listing() { unzip -Z1 "$feed/$1.0.1.0.nupkg"; }
nuspec() { unzip -p "$feed/$1.0.1.0.nupkg" "$1.nuspec"; }
for p in "${layers[@]}"; do
  files=$(listing "$p")
  if grep -qx "lib/net10.0/$p.dll" <<< "$files" && grep -qx "lib/net10.0/$p.xml" <<< "$files" &&
     grep -qx README.md <<< "$files" && [ -f "$feed/$p.0.1.0.snupkg" ] && ! grep -q 'Zoetrope.Generators' <<< "$(nuspec "$p")"; then
    pass "$p: lib/net10.0 dll + xml docs, README, .snupkg, no generator dependency"
  else
    fail "$p: lacks lib/net10.0/$p.dll, its .xml, README.md or its .snupkg, or depends on the generator"
  fi
done
deps=$(nuspec Zoetrope | grep -oE 'dependency id="[^"]+" version="0\.1\.0"' | cut -d'"' -f2 | sort | tr '\n' ' ')
if [ "$deps" = "$(printf '%s\n' "${layers[@]}" | sort | tr '\n' ' ')" ]; then pass "Zoetrope depends on every layer: $deps"
else fail "Zoetrope's dependencies: '$deps'"; fi
zoetrope=$(listing Zoetrope)
tool=$(listing Zoetrope.Cli)
# Captured, not piped into grep -q: under pipefail a reader that stops early fails the pipe.
settings=$(unzip -p "$feed/Zoetrope.Cli.0.1.0.nupkg" tools/net10.0/any/DotnetToolSettings.xml)
if grep -qx tools/net10.0/any/zoe.dll <<< "$tool" && grep -q '<Command Name="zoe" EntryPoint="zoe.dll"' <<< "$settings"; then
  pass "Zoetrope.Cli is a .NET tool with the command zoe"
else
  fail "Zoetrope.Cli lacks tools/net10.0/any/zoe.dll or the command zoe"
fi
if [ $built = 1 ]; then
  if grep -qx "runtimes/linux-x64/$native_rel" <<< "$zoetrope" && grep -qx "tools/net10.0/any/runtimes/linux-x64/$native_rel" <<< "$tool"; then
    pass "Zoetrope and Zoetrope.Cli carry runtimes/linux-x64/$native_rel"
  else
    fail "build/libzoetrope_native.so exists but Zoetrope or Zoetrope.Cli lacks runtimes/linux-x64/$native_rel"
  fi
else
  if ! grep -q libzoetrope_native <<< "$zoetrope$tool" && grep -q 'carry NO native library' "$work/pack.txt"; then
    pass "without build/libzoetrope_native.so the packages carry none and the pack says so"
  else
    fail "without build/libzoetrope_native.so: a package carries a native library, or the pack did not say it has none"
  fi
fi

# The sample as a user's project elsewhere: its nuget.config adds the feed (pointed at this one).
sample="$work/StreamTiny"
cp -r samples/StreamTiny "$sample"
rm -rf "$sample/bin" "$sample/obj" "$sample/out"
sed -i "s#value=\"../../artifacts/packages\"#value=\"$feed\"#" "$sample/nuget.config"
if ! grep -qF "value=\"$feed\"" "$sample/nuget.config"; then
  fail "samples/StreamTiny/nuget.config no longer adds ../../artifacts/packages; update .ci/pack-sample.sh"
  finish
fi
echo "pack-sample: samples/StreamTiny: restore (fresh packages folder), build, run"
if (cd "$sample" && dotnet restore --packages "$work/packages" -nologo > "$work/restore.txt" 2>&1 &&
    dotnet build -c Release --no-restore -nologo > "$work/build.txt" 2>&1); then
  pass "StreamTiny restored from the feed and built"
else
  cat "$work/restore.txt" "$work/build.txt" 2>/dev/null | grep -E 'error|warning' | sort -u | head -n 20
  fail "StreamTiny did not restore or build"
  finish
fi
(cd "$sample" && timeout 120 dotnet bin/Release/net10.0/StreamTiny.dll reference "$work/out") > "$work/run.txt" 2>&1
run_rc=$?
cat "$work/run.txt"
blocks=$(grep -cE '^block [0-9]+/4: latent frames ' "$work/run.txt")
if [ "$run_rc" -eq 0 ] && [ "$blocks" -eq 4 ] && grep -q '^prompt switched in ' "$work/run.txt" &&
   grep -qE '^wrote .*stream\.(mp4|y4m): [0-9]+ frames' "$work/run.txt" && grep -qE '^metrics: 4 blocks' "$work/run.txt" &&
   [ -s "$work/out/latents.npy" ]; then
  pass "StreamTiny: 4 blocks, a prompt switch, the video and the latents written, metrics"
else
  fail "StreamTiny: exit $run_rc, $blocks of 4 block lines (or no switch, video, latents or metrics)"
fi
if [ $built = 1 ]; then
  if grep -qE "^native library: loaded from .*/runtimes/linux-x64/$native_rel\$" "$work/run.txt"; then
    pass "StreamTiny found libzoetrope_native.so in its runtimes/linux-x64/native/ with no environment variable"
  else
    fail "StreamTiny did not load libzoetrope_native.so from runtimes/linux-x64/native/"
  fi
fi

# The tool, from the feed, into a temp tool path; NUGET_PACKAGES fresh for the same reason.
echo "pack-sample: dotnet tool install Zoetrope.Cli from the feed"
if NUGET_PACKAGES="$work/tool-packages" dotnet tool install --tool-path "$work/tool" --add-source "$feed" Zoetrope.Cli --version 0.1.0 > "$work/tool.txt" 2>&1; then
  (env -u ZOETROPE_NATIVE "$work/tool/zoe" info) > "$work/info.txt" 2>&1
  info_rc=$?
  grep -E '^native shim:' "$work/info.txt"
  if [ $built = 1 ]; then
    if [ "$info_rc" -eq 0 ] && grep -qE "^native shim: libzoetrope_native\.so v[0-9]+ \(.*/runtimes/linux-x64/$native_rel\)" "$work/info.txt"; then
      pass "the installed zoe tool loads its libzoetrope_native.so"
    else
      cat "$work/info.txt"; fail "zoe info (installed tool): exit $info_rc, no native shim from its runtimes/ folder"
    fi
  elif [ "$info_rc" -eq 0 ] && grep -qE '^native shim: ' "$work/info.txt"; then
    pass "the installed zoe tool runs zoe info"
  else
    cat "$work/info.txt"; fail "zoe info (installed tool): exit $info_rc"
  fi
else
  cat "$work/tool.txt"; fail "dotnet tool install Zoetrope.Cli"
fi
finish
