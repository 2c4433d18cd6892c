#!/usr/bin/env python3
"""The reading half of .ci/cuda-check.sh: what the CMake build of libzoetrope_native.so did.

For every kernels/**/*.cu and native/src/*.cu it reads the per-file compile log that
.ci/nvcc-log.sh left beside the object, and reports:
  * per kernel, per SASS arch: registers, shared memory, stack frame and spill bytes (ptxas -v);
  * failures: a file that did not compile, a file that should have been built and was not;
  * spills in hot kernels: a file marks its performance-critical kernels with a line
      // zt:hot <kernel> [<kernel>...] [(why)]
    (unqualified names, matched against every instantiation of that kernel in any file); a hot
    kernel that spills on any arch is a failure, and so is a hot name that matches no kernel;
  * SASS expectations: `// zt:sass <arch> <OPCODE>` (e.g. `// zt:sass sm_90a HGMMA`) fails
    unless cuobjdump finds that opcode in the file's code for that arch, so a kernel that falls
    back to a slower path (HMMA where wgmma was meant) is caught without a GPU;
  * register expectations: `// zt:regs <arch> <kernel> <N>` fails unless every instantiation of
    that kernel in the file is compiled for that arch at exactly N registers per thread: a
    warp-specialized kernel's setmaxnreg budgets (producer .dec, consumers .inc) are sized from
    the launch's allocation, and a different one would make `.inc` wait forever on a GPU;
  * serialized wgmma: ptxas's "Potential Performance Loss: wgmma.mma_async instructions are
    serialized" warning (C7513 and its kin) for any kernel is a failure: the kernel still runs,
    correctly, at a fraction of its speed, which nothing short of a GPU would otherwise show;
  * the link: the library exists and exports every ZT_API function of native/include/*.h except
    those defined only in skipped files;
  * optionally the PTX ILGPU emitted (--ptx DIR): every *.ptx assembled by ptxas for sm_80,
    sm_89 and sm_90, with the same per-kernel table.
The last line is the summary .ci/run reads:
  cuda-check: C compiled, F failed, S skipped; link ok|FAILED; H hot spills; P ptx assembled, Q failed; W serialized
Exit status 1 on any failure.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OBJ_DIR = Path("CMakeFiles") / "zoetrope_native.dir"
PTX_ARCHS = ["80", "89", "90"]

ENTRY = re.compile(r"Compiling entry function '([^']+)' for '(sm_[0-9a-z]+)'")
PROPS = re.compile(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads")
USED = re.compile(r"Used (\d+) registers(?:, (\d+) bytes smem)?")


def sources():
    files = sorted(ROOT.glob("kernels/**/*.cu")) + sorted(ROOT.glob("native/src/*.cu"))
    return [f.relative_to(ROOT).as_posix() for f in files]


def markers(rel, limit=None):
    lines = (ROOT / rel).read_text(errors="replace").splitlines()
    if limit:
        lines = lines[:limit]
    return lines


def requirements(rel):
    head = "\n".join(markers(rel, 10))
    return {
        "cutlass": re.search(r"zt:requires[ \t]+cutlass", head) is not None,
        "sm_90a": re.search(r"zt:requires[ \t]+sm_90a", head) is not None,
    }


def hot_names():
    names = {}
    for path in sorted(ROOT.glob("kernels/**/*.cu*")):
        for line in path.read_text(errors="replace").splitlines():
            m = re.search(r"//\s*zt:hot((?:[ \t]+[A-Za-z_]\w*)+)", line)
            if m:
                for name in m.group(1).split():
                    names[name] = path.relative_to(ROOT).as_posix()
    return names


def sass_expectations(rel):
    out = []
    for line in markers(rel):
        m = re.search(r"//\s*zt:sass\s+(sm_[0-9a-z]+)\s+([A-Z0-9_.]+)", line)
        if m:
            out.append((m.group(1), m.group(2)))
    return out


def reg_expectations(rel):
    out = []
    for line in markers(rel):
        m = re.search(r"//\s*zt:regs\s+(sm_[0-9a-z]+)\s+([A-Za-z_]\w*)\s+(\d+)", line)
        if m:
            out.append((m.group(1), m.group(2), int(m.group(3))))
    return out


def demangle(names):
    if not names:
        return {}
    try:
        res = subprocess.run(["c++filt", "-p"], input="\n".join(names), capture_output=True, text=True, check=True)
        pretty = res.stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        pretty = names
    return {n: p.replace("(anonymous namespace)::", "") for n, p in zip(names, pretty)}


def short(pretty):
    """The table's name for a kernel: without the zt:: namespaces, which every kernel has."""
    return re.sub(r"\bzt::(\w+::)?", "", pretty)


def base_name(pretty):
    """zt::flash::flash_kernel<Tr, 64>  ->  flash_kernel"""
    depth, cut = 0, len(pretty)
    for i, ch in enumerate(pretty):
        if ch == "<":
            if depth == 0:
                cut = i
                break
            depth += 1
    name = pretty[:cut]
    return name.split("::")[-1].strip()


def parse_ptxas(text):
    """[(mangled, arch, regs, smem, stack, spill_st, spill_ld)] from a ptxas -v log."""
    rows, fn, arch, props = [], None, None, (0, 0, 0)
    for line in text.splitlines():
        m = ENTRY.search(line)
        if m:
            fn, arch, props = m.group(1), m.group(2), (0, 0, 0)
            continue
        m = PROPS.search(line)
        if m and fn:
            props = tuple(int(x) for x in m.groups())
            continue
        m = USED.search(line)
        if m and fn:
            rows.append((fn, arch, int(m.group(1)), int(m.group(2) or 0)) + props)
            fn = None
    return rows


def print_table(rows, hot=()):
    """One line per (unit, kernel): registers/spill bytes (stores+loads) for each arch; * = hot."""
    pretty = demangle(sorted({r[1] for r in rows}))
    by_kernel = {}
    for unit, fn, arch, regs, smem, stack, st, ld in rows:
        by_kernel.setdefault((unit, pretty[fn]), {})[arch] = (regs, smem, stack, st, ld)
    archs = sorted({r[2] for r in rows}, key=lambda a: (len(a), a))
    head = "  {:<38}   {:<72}".format("unit", "kernel") + "".join(f" {a + ' regs/spill':>16}" for a in archs)
    print(head)
    for (unit, name), per_arch in sorted(by_kernel.items()):
        cells = ""
        for a in archs:
            if a in per_arch:
                regs, smem, stack, st, ld = per_arch[a]
                spill = f"{st}+{ld}" if st or ld else "0"
                cells += f" {f'{regs}/{spill}':>16}"
            else:
                cells += f" {'-':>16}"
        shown = short(name)
        shown = shown if len(shown) <= 72 else shown[:69] + "..."
        mark = "*" if base_name(name) in hot else " "
        print(f"  {unit:<38} {mark} {shown:<72}{cells}")
    return pretty


def check_build(build):
    compiled = failed = skipped = 0
    rows = []
    built_files = []
    for rel in sources():
        req = requirements(rel)
        rc_file = build / OBJ_DIR / (rel + ".o.rc")
        log_file = build / OBJ_DIR / (rel + ".o.log")
        if not rc_file.exists():
            if req["cutlass"] and not cmake_has_cutlass(build):
                print(f"  SKIPPED {rel}: needs CUTLASS (not configured: no .cutlass/ checkout, no CUTLASS_DIR)")
                skipped += 1
            else:
                print(f"  FAILED {rel}: not compiled by the build (see the build log)")
                failed += 1
            continue
        log = log_file.read_text(errors="replace") if log_file.exists() else ""
        if rc_file.read_text().strip() != "0":
            failed += 1
            print(f"  FAILED {rel}:")
            for line in log.splitlines()[-40:]:
                print(f"    {line}")
            continue
        compiled += 1
        built_files.append(rel)
        rows += [(rel,) + r for r in parse_ptxas(log)]
    return compiled, failed, skipped, rows, built_files


def cmake_has_cutlass(build):
    """What the last configure decided (cmake/ZoetropeCuda.cmake records it in the cache)."""
    cache = build / "CMakeCache.txt"
    text = cache.read_text(errors="replace") if cache.exists() else ""
    return re.search(r"^ZT_HAVE_CUTLASS_BUILT:INTERNAL=ON$", text, re.M) is not None


def check_hot(rows, pretty):
    names = hot_names()
    seen, bad = set(), []
    for unit, fn, arch, regs, smem, stack, st, ld in rows:
        name = base_name(pretty[fn])
        if name in names:
            seen.add(name)
            if st or ld:
                bad.append(f"  HOT SPILL {unit} {pretty[fn]} on {arch}: {st} bytes spill stores, {ld} bytes spill loads, {stack} bytes stack")
    for name, where in sorted(names.items()):
        if name not in seen:
            bad.append(f"  HOT MARKER {where}: zt:hot names '{name}', which no compiled kernel is called")
    for line in bad:
        print(line)
    return len(bad)


def check_sass(build, built_files):
    bad = 0
    for rel in built_files:
        for arch, opcode in sass_expectations(rel):
            obj = build / OBJ_DIR / (rel + ".o")
            try:
                res = subprocess.run(["cuobjdump", "-sass", "-arch", arch, str(obj)], capture_output=True, text=True)
                found = res.returncode == 0 and re.search(rf"\b{re.escape(opcode)}\b", res.stdout) is not None
                detail = "" if res.returncode == 0 else res.stderr.strip().splitlines()[-1:]
            except OSError as e:
                found, detail = False, str(e)
            if found:
                print(f"  sass {rel} {arch}: {opcode} present")
            else:
                print(f"  FAILED sass {rel} {arch}: no {opcode} in the code cuobjdump shows {detail}")
                bad += 1
    return bad


def check_regs(rows, pretty, built_files):
    bad = 0
    for rel in built_files:
        for arch, name, want in reg_expectations(rel):
            got = [(pretty[fn], regs) for unit, fn, a, regs, *_ in rows if unit == rel and a == arch and base_name(pretty[fn]) == name]
            wrong = [(k, r) for k, r in got if r != want]
            if not got:
                print(f"  FAILED regs {rel} {arch}: zt:regs names '{name}', which no kernel compiled for {arch} in the file is called")
                bad += 1
            elif wrong:
                for k, r in wrong:
                    print(f"  FAILED regs {rel} {arch}: {short(k)} at {r} registers, {want} expected (its setmaxnreg budgets assume {want})")
                bad += 1
            else:
                print(f"  regs {rel} {arch}: {name} at {want} registers ({len(got)} instantiations)")
    return bad


SERIALIZED = re.compile(r"Potential Performance Loss: wgmma\.mma_async instructions are serialized (.*?) in the function '([^']+)'")


def check_serialized(build, built_files):
    """ptxas's wgmma serialization warnings in the compile logs, one failure per (file, kernel)."""
    bad = 0
    for rel in built_files:
        log_file = build / OBJ_DIR / (rel + ".o.log")
        log = log_file.read_text(errors="replace") if log_file.exists() else ""
        found = {}
        for why, fn in SERIALIZED.findall(log):
            found.setdefault(fn, why)
        names = demangle(list(found)) if found else {}
        for fn, why in found.items():
            print(f"  FAILED serialized {rel}: {short(names.get(fn, fn))}: wgmma.mma_async instructions are serialized {why}")
            bad += 1
    return bad


def exported_api(skipped_files):
    """ZT_API functions of the headers, minus those defined only in skipped files."""
    decl = re.compile(r"ZT_API\s+[\w\s\*]+?\b(zt_\w+)\s*\(")
    api = set()
    for h in sorted((ROOT / "native/include").glob("*.h")):
        api |= set(decl.findall(h.read_text()))
    for rel in skipped_files:
        api -= set(decl.findall((ROOT / rel).read_text(errors="replace")))
    return api


def cmake_archs(name):
    """ZT_SASS_ARCHS / ZT_PTX_ARCHS as cmake/ZoetropeCuda.cmake sets them (one source of truth)."""
    m = re.search(rf"set\({name}\s+([^)]*)\)", (ROOT / "cmake/ZoetropeCuda.cmake").read_text())
    return m.group(1).split() if m else []


def check_code(lib, built_files):
    """Every built file's SASS and PTX are in the library: a file that lost an arch is a failure."""
    res = subprocess.run(["cuobjdump", "-lelf", "-lptx", str(lib)], capture_output=True, text=True)
    if res.returncode != 0:
        print(f"  FAILED cuobjdump -lelf -lptx {lib.name}: {res.stderr.strip()}")
        return False
    have = set()
    for line in res.stdout.splitlines():
        m = re.match(r"(ELF|PTX) file\s+\d+: .*?([^/.]+)\.(sm_[0-9a-z]+)\.(cubin|ptx)$", line.strip())
        if m:
            have.add((m.group(2), m.group(1), m.group(3)))
    sass, ptx = cmake_archs("ZT_SASS_ARCHS"), cmake_archs("ZT_PTX_ARCHS")
    missing = []
    for rel in built_files:
        stem = Path(rel).stem
        want = [("ELF", "sm_90a")] if requirements(rel)["sm_90a"] else [("ELF", f"sm_{a}") for a in sass] + [("PTX", f"sm_{a}") for a in ptx]
        missing += [f"{stem} {'SASS' if kind == 'ELF' else 'PTX'} {arch}" for kind, arch in want if (stem, kind, arch) not in have]
    print(f"  code: {len({h for h in have if h[1] == 'ELF'})} cubins (SASS sm_{', sm_'.join(sass)}), "
          f"{len({h for h in have if h[1] == 'PTX'})} PTX (compute_{', compute_'.join(ptx)})" +
          (f"; MISSING {', '.join(missing[:10])}" if missing else ""))
    return not missing


def check_link(build, built_files):
    lib = build / "libzoetrope_native.so"
    if not lib.exists():
        print(f"  FAILED link: {lib} was not made (see the build log)")
        return False
    skipped = [rel for rel in sources() if rel not in built_files]
    want = exported_api(skipped)
    res = subprocess.run(["nm", "-D", "--defined-only", str(lib)], capture_output=True, text=True)
    have = {line.split()[-1] for line in res.stdout.splitlines() if line.strip()}
    missing = sorted(want - have)
    extra = sorted(s for s in have - want if not s.startswith("_"))
    ok = res.returncode == 0 and not missing
    size = lib.stat().st_size / (1 << 20)
    print(f"  link: {lib.name} {size:.1f} MiB, {len(want & have)} zt_ exports" +
          (f"; MISSING {', '.join(missing)}" if missing else "") +
          (f"; also exports {', '.join(extra[:8])}" if extra else ""))
    return check_code(lib, built_files) and ok


def check_ptx(ptx_dir):
    assembled = failed = 0
    rows = []
    files = sorted(Path(ptx_dir).glob("*.ptx"))
    if not files:
        print(f"  FAILED: no .ptx files in {ptx_dir}")
        return 0, 1, []
    for f in files:
        for arch in PTX_ARCHS:
            with tempfile.NamedTemporaryFile(suffix=".cubin") as out:
                res = subprocess.run(["ptxas", f"-arch=sm_{arch}", "-v", str(f), "-o", out.name], capture_output=True, text=True)
            if res.returncode == 0:
                assembled += 1
                rows += [(f.name,) + r for r in parse_ptxas(res.stdout + res.stderr)]
            else:
                failed += 1
                print(f"  FAILED ptxas {f.name} for sm_{arch}:")
                for line in (res.stdout + res.stderr).splitlines()[-20:]:
                    print(f"    {line}")
    return assembled, failed, rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", required=True, type=Path, help="the CMake build folder")
    ap.add_argument("--ptx", help="a folder of ILGPU .ptx files to assemble")
    ap.add_argument("--build-rc", type=int, default=0, help="the exit status of cmake --build")
    args = ap.parse_args()

    compiled, failed, skipped, rows, built = check_build(args.build)
    pretty = print_table(rows, hot_names()) if rows else {}
    hot = check_hot(rows, pretty)
    failed += check_sass(args.build, built)
    failed += check_regs(rows, pretty, built)
    serialized = check_serialized(args.build, built)
    link_ok = failed == 0 and check_link(args.build, built)
    if failed == 0 and args.build_rc != 0 and link_ok:
        print(f"  FAILED: cmake --build exited {args.build_rc}")
        link_ok = False
    assembled = ptx_failed = 0
    if args.ptx:
        assembled, ptx_failed, ptx_rows = check_ptx(args.ptx)
        if ptx_rows:
            print_table(ptx_rows)
    link = "link ok" if link_ok else ("link FAILED" if failed == 0 else "link not tried")
    print(f"cuda-check: {compiled} compiled, {failed} failed, {skipped} skipped; {link}; {hot} hot spills; "
          f"{assembled} ptx assembled, {ptx_failed} failed; {serialized} serialized")
    return 0 if failed == 0 and link_ok and hot == 0 and ptx_failed == 0 and serialized == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
